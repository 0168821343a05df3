#!/usr/bin/env bash
# The CMake options llama-cpp-python is compiled with on this machine.
#
# On x86-64: every vector extension the CPU has, but never AMX. A native build
# (-march=native) enables llama.cpp's AMX kernels wherever the CPU lists AMX, and on
# the virtual machines seen here (Xeon Sapphire Rapids under a hypervisor) the first
# tile instruction crashes the process (SIGSEGV in ggml_backend_amx_mul_mat). The
# AVX-512 kernels lose little against AMX at one request at a time. Elsewhere (a
# Raspberry Pi): llama.cpp's native defaults.
set -euo pipefail
[ "$(uname -m)" = x86_64 ] || exit 0
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
args="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
on() { # on CPUFLAG... OPTION: OPTION=ON when the CPU has every flag
    local option=${*: -1} flag
    for flag in "${@:1:$#-1}"; do [[ $flags == *" $flag "* ]] || return 0; done
    args+=" -D$option=ON"
}
on sse4_2 GGML_SSE42
on avx GGML_AVX
on avx2 GGML_AVX2
on fma GGML_FMA
on f16c GGML_F16C
on bmi2 GGML_BMI2
on avx_vnni GGML_AVX_VNNI
on avx512f avx512cd avx512vl avx512dq avx512bw GGML_AVX512
on avx512vbmi GGML_AVX512_VBMI
on avx512_vnni GGML_AVX512_VNNI
on avx512_bf16 GGML_AVX512_BF16
echo "$args"
