"""voicecoach: offline, voice-guided core workouts for people training around back pain."""

__version__ = "0.1.0"
