"""The test suite of voicecoach: a package, so its modules import each other as ``tests.x``."""
