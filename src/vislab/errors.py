"""Exceptions raised by the library.

Every failure a user can cause raises a subclass of `VislabError`; the CLI turns it into one line
``vislab: error: <message>`` and exit status 2. Anything else escaping is a bug in vislab.
"""

from __future__ import annotations


class VislabError(Exception):
    """Base class: the message is shown to the user as it is, so it must say what went wrong and where."""


class ImageError(VislabError):
    """An image could not be read or written (missing, corrupt, too large, not an image)."""


class DataError(VislabError):
    """A dataset, annotation file or feature file is missing or malformed."""


class ClassNameError(VislabError):
    """A class name or index is unknown to the model."""


class CheckpointError(VislabError):
    """A checkpoint is missing, corrupt, or belongs to another model."""


class WeightsError(VislabError):
    """Pretrained weights cannot be found or loaded."""


class ConfigError(VislabError):
    """Settings or arguments that cannot work together (bad shapes, weights, layer names, ...)."""


class NamesSetting(VislabError):
    """An error about one setting: `setting` names it (a job's ``beta1``, or a run's ``out``), `detail` says what
    is wrong. Library messages name settings, never flags; each front end words them its own way (the CLI names
    the flag)."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting} {message}")
        self.setting = setting
        self.detail = message


class SettingError(NamesSetting, ConfigError):
    """A setting with a bad value."""


class DataSettingError(NamesSetting, DataError):
    """A data setting that names missing or malformed files (``data /x: no such folder``)."""
