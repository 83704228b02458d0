"""Launch links: open a lesson or an exercise on a JupyterHub (an nbgitpuller link) or on a BinderHub.

The repository, its branch, the hub and the BinderHub are set in one place, ``course/launch.toml``
(:func:`load` reads it; pass another file to use yours).  Both kinds of link pull the *student*
repository, the tree ``grader publish`` writes, and open ``path`` inside it:

    cfg = load()
    hub_link(cfg, "notebooks/01-start-a-cluster.ipynb")
    # https://hub/hub/user-redirect/git-pull?repo=...&branch=main&urlpath=lab%2Ftree%2F<repo>%2Fnotebooks%2F...
    binder_link(cfg, "exercises/01-start-a-cluster.ipynb")
    # https://mybinder.org/v2/gh/<owner>/<repo>/main?urlpath=lab%2Ftree%2Fexercises%2F01-start-a-cluster.ipynb

nbgitpuller clones the repository into a folder named after it in the user's home, so the hub link's
``urlpath`` starts with that folder; Binder starts in the repository itself.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlencode, urlsplit

CONFIG = Path(__file__).with_name("launch.toml")
INTERFACES = ("lab", "tree")


class LaunchConfigError(ValueError):
    """launch.toml is missing a setting or holds one that cannot make a link."""


@dataclass(frozen=True)
class LaunchConfig:
    repository: str  # the student repository's URL (https)
    branch: str
    hub: str  # the JupyterHub's URL
    interface: str  # "lab" or "tree"
    binderhub: str

    @property
    def folder(self) -> str:
        """The folder nbgitpuller clones the repository into: its name, without ``.git``."""
        return PurePosixPath(urlsplit(self.repository).path).name.removesuffix(".git")


def load(path: str | Path = CONFIG) -> LaunchConfig:
    """The launch settings of ``path`` (course/launch.toml by default); LaunchConfigError naming what is wrong."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        cfg = LaunchConfig(repository=data["student_repository"]["url"].rstrip("/"),
                           branch=data["student_repository"]["branch"], hub=data["jupyterhub"]["url"].rstrip("/"),
                           interface=data["jupyterhub"].get("interface", "lab"),
                           binderhub=data["binder"]["url"].rstrip("/"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise LaunchConfigError(f"{path}: {e}") from e
    except (KeyError, TypeError, AttributeError) as e:
        raise LaunchConfigError(f"{path}: missing or malformed setting {e}; see course/launch.toml") from e
    for name in ("repository", "hub", "binderhub"):
        url = urlsplit(getattr(cfg, name))
        if url.scheme != "https" or not url.netloc:
            raise LaunchConfigError(f"{path}: {name} must be an https:// URL, not {getattr(cfg, name)!r}")
    if cfg.interface not in INTERFACES:
        raise LaunchConfigError(f"{path}: jupyterhub.interface must be one of {INTERFACES}, not {cfg.interface!r}")
    if not cfg.branch or not cfg.folder:
        raise LaunchConfigError(f"{path}: the student repository needs a branch and a name")
    return cfg


def _checked(path: str) -> str:
    p = PurePosixPath(path)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise ValueError(f"{path!r}: give a path inside the student repository")
    return str(p)


def hub_link(cfg: LaunchConfig, path: str) -> str:
    """The nbgitpuller link that pulls the student repository on the hub and opens ``path`` in it."""
    prefix = "lab/tree" if cfg.interface == "lab" else "tree"  # JupyterLab, or the classic notebook's tree
    urlpath = f"{prefix}/{cfg.folder}/{_checked(path)}"
    query = urlencode({"repo": cfg.repository, "branch": cfg.branch, "urlpath": urlpath})
    return f"{cfg.hub}/hub/user-redirect/git-pull?{query}"


def binder_link(cfg: LaunchConfig, path: str) -> str:
    """The BinderHub link that builds the student repository (its binder/ folder) and opens ``path``."""
    url = urlsplit(cfg.repository)
    parts = PurePosixPath(url.path).parts[1:]
    if url.netloc == "github.com" and len(parts) == 2:
        spec = f"gh/{parts[0]}/{parts[1].removesuffix('.git')}/{quote(cfg.branch, safe='')}"
    else:
        spec = f"git/{quote(cfg.repository, safe='')}/{quote(cfg.branch, safe='')}"
    return f"{cfg.binderhub}/v2/{spec}?{urlencode({'urlpath': f'lab/tree/{_checked(path)}'})}"


def lesson_links(cfg: LaunchConfig, name: str, has_exercise: bool) -> list[tuple[str, str, str]]:
    """(kind, label, URL) of every launch link of the lesson ``name``: the lesson and (``has_exercise``) its
    exercise, each on the JupyterHub (kind "hub") and on Binder (kind "binder")."""
    targets = [("lesson", f"notebooks/{name}.ipynb")] + ([("exercise", f"exercises/{name}.ipynb")]
                                                          if has_exercise else [])
    links = []
    for what, path in targets:
        links.append(("hub", f"Open the {what} on JupyterHub", hub_link(cfg, path)))
        links.append(("binder", f"Launch the {what} on Binder", binder_link(cfg, path)))
    return links
