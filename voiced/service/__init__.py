"""The service: `voiced run` as a long-lived process under systemd. The daemon that keeps
the loop alive, its control socket, metrics, systemd's notify and watchdog, and the doctor
that checks a machine before it runs. Uses the pipeline and everything below it.

daemon.py   the loop supervised: devices waited for, a failed turn never stops it, reloads
control.py  the control socket (`voiced status`, `voiced control`, `voiced ask` to a daemon)
metrics.py  Prometheus metrics over HTTP, from the turn timings
systemd.py  sd_notify, the watchdog, and the units' network drop-in
doctor.py   `voiced doctor`: each check, and how to fix what fails
"""
