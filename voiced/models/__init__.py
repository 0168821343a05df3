"""The model files: which exist, by name, where they go and how they are pinned, and the
wake words voiced knows. Plain data, no engine code: the configuration checks its names
against it, so it sits below config and uses nothing of voiced.
"""
