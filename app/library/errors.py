"""Failures of the library (Hub, downloads, disk) as one plain sentence each.

huggingface_hub and httpx2 raise detailed exceptions with URLs and hints meant for
developers; `explain` turns them into what a person can act on. The original goes
to the log. Nothing here imports huggingface_hub: the checks look at class names
and modules already loaded, so the CLI's help and the window's first paint stay light.
"""

from __future__ import annotations

import errno
import logging
import sys

log = logging.getLogger("parlour.library")


class LibraryError(Exception):
    """A failure a person can act on. str(error) is one plain sentence, never a traceback."""


class OfflineError(LibraryError):
    pass


class GatedModelError(LibraryError):
    pass


class TokenRejectedError(LibraryError):
    pass


class NotFoundError(LibraryError):
    pass


class DiskFullError(LibraryError):
    pass


class VerificationError(LibraryError):
    pass


class HubUnavailableError(LibraryError):
    pass


class ImportRefusedError(LibraryError):
    pass


def offline_mode_error() -> OfflineError:
    return OfflineError(
        "Parlour is in offline mode (HF_HUB_OFFLINE is set), so it does not contact the Hugging Face Hub; "
        "unset it to search or download."
    )


def offline_error() -> OfflineError:
    return OfflineError(
        "You are offline: Parlour cannot reach the Hugging Face Hub. Check your connection and try again."
    )


def gated_error(repo_id: str, with_token: bool) -> GatedModelError:
    if with_token:
        return GatedModelError(
            f"Your Hugging Face token does not give access to {repo_id}: accept the license on the model page "
            f"(https://huggingface.co/{repo_id}), then try again."
        )
    return GatedModelError(
        f"{repo_id} is gated: accept the license on the model page (https://huggingface.co/{repo_id}), "
        "then add your Hugging Face token in Parlour."
    )


def disk_full_error(folder: object, needed: int | None = None, free: int | None = None) -> DiskFullError:
    from engines.inspect import human_size

    if needed is not None and free is not None:
        return DiskFullError(
            f"Not enough disk space: the download needs {human_size(needed)} in {folder}, with room to spare, "
            f"but only {human_size(free)} is free. Free some space or choose another models folder."
        )
    return DiskFullError(f"The disk holding {folder} is full. Free some space or choose another models folder.")


def _named(exc: BaseException, *names: str) -> bool:
    """Whether exc is an instance of a class with one of these names (checked along its MRO)."""
    return any(cls.__name__ in names for cls in type(exc).__mro__)


def is_network_error(exc: BaseException) -> bool:
    """A transient transport failure worth a retry (connection refused or reset, timeout, cut body)."""
    if "httpx2" in sys.modules:
        import httpx2

        if isinstance(exc, httpx2.TransportError):
            return True
    return isinstance(exc, (ConnectionError, TimeoutError))


def explain(exc: BaseException, repo_id: str = "", *, with_token: bool = False, folder: object = None) -> LibraryError:
    """The plain sentence for a failure from huggingface_hub, httpx2 or the file system."""
    if isinstance(exc, LibraryError):
        return exc
    log.info("library operation failed: %s: %s", type(exc).__name__, exc)
    name = repo_id or "This model"
    if _named(exc, "OfflineModeIsEnabled"):
        return offline_mode_error()
    if _named(exc, "GatedRepoError"):
        return gated_error(name, with_token)
    if _named(exc, "RevisionNotFoundError", "EntryNotFoundError", "RemoteEntryNotFoundError"):
        return NotFoundError(f"A file of {name} is no longer on the Hugging Face Hub; reload the model page.")
    if _named(exc, "RepositoryNotFoundError"):
        return NotFoundError(
            f"{name} was not found on the Hugging Face Hub; check the name (private models need a token)."
        )
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status == 401:
        return TokenRejectedError("The Hugging Face Hub refused your token; check it, or remove it in Parlour.")
    if status == 403:
        return gated_error(name, with_token)
    if status == 404:
        return NotFoundError(f"{name} was not found on the Hugging Face Hub.")
    if status == 429:
        return HubUnavailableError("The Hugging Face Hub is limiting requests right now; wait a minute and try again.")
    if isinstance(status, int) and status >= 500:
        return HubUnavailableError(f"The Hugging Face Hub had a problem (error {status}); try again in a few minutes.")
    if is_network_error(exc):
        return offline_error()
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return disk_full_error(folder or getattr(exc, "filename", None) or "the models folder")
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return LibraryError(f"Parlour could not write the model files{where}: {exc.strerror or exc}.")
    if isinstance(status, int):
        return HubUnavailableError(f"The Hugging Face Hub answered with error {status}; try again later.")
    return LibraryError(f"The Hugging Face Hub request failed ({type(exc).__name__}); details are in the log.")
