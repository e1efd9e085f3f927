"""The course's exception classes: each names the file or argument at fault and what is wrong with it."""

from __future__ import annotations


class SarxaiError(Exception):
    """Base class of every error raised on purpose by ``sarxai_utils``."""


class ProfileError(SarxaiError, ValueError):
    """An unknown profile name, or a profile setting with an invalid value."""


class DataFolderError(SarxaiError, FileNotFoundError):
    """A dataset folder is missing, has no usable class folders, or a class folder is empty or unknown."""


class CorruptFileError(SarxaiError, ValueError):
    """A file cannot be read: unreadable, truncated, or with a header that lacks a required field."""


class InvalidImageError(SarxaiError, ValueError):
    """An image was read but cannot be used: wrong number of dimensions, empty, or NaN / inf pixels."""


class CacheError(SarxaiError, RuntimeError):
    """A cache entry on disk is corrupt or does not match its manifest."""


class CheckpointError(SarxaiError, ValueError):
    """A checkpoint file is missing, truncated, corrupt or lacks the course's metadata."""


class CheckpointMismatchError(SarxaiError, ValueError):
    """A checkpoint was trained for other settings (classes, polarization, architecture or input size)."""
