"""A STAND-IN for a GPU library, for lesson 20 on machines without a GPU: it drives no GPU and computes nothing.

It behaves like a CUDA runtime (what CuPy, PyTorch, TensorFlow and Numba load) in the one respect the lesson is
about: it reads the environment variable ``CUDA_VISIBLE_DEVICES`` **once**, when it is imported, and never again.
A real runtime reads it when it initialises, which for most libraries is at import or at the first GPU call;
after that, changing ``os.environ`` changes nothing in that process.

- The node has ``NODE_DEVICES`` GPUs, numbered 0, 1, ... (a real runtime asks the driver; the stand-in reads
  ``FAKECUDA_NODE_DEVICES``, also once at import, default 4).
- ``CUDA_VISIBLE_DEVICES`` unset: every GPU of the node is visible.  Set: a comma-separated list of the node's
  GPUs, which the process sees as its devices 0, 1, ... in that order; the list stops at the first entry that is
  not a GPU of the node, as CUDA's does, so ``""`` (or ``"-1"``) hides every GPU.
- :func:`device_count` and :func:`physical_devices` say what this process sees; :func:`run_on_device` stands for
  a kernel launch and says on which of the node's GPUs it ran; with no GPU it fails as CUDA does.

Everything it knows is fixed at import: to see another value of the variable, a process must set it before it
imports this module (or start again).  Its source is short; read it.
"""

import os

NODE_DEVICES = int(os.environ.get("FAKECUDA_NODE_DEVICES", "4"))
SEEN_AT_IMPORT = os.environ.get("CUDA_VISIBLE_DEVICES")  # read once, here, as a CUDA runtime reads it


def _visible(value, node_devices):
    if value is None:
        return list(range(node_devices))
    devices = []
    for entry in value.split(","):
        entry = entry.strip()
        if not entry.isdigit() or int(entry) >= node_devices or int(entry) in devices:
            break  # CUDA ignores this entry and every one after it
        devices.append(int(entry))
    return devices


_VISIBLE = _visible(SEEN_AT_IMPORT, NODE_DEVICES)


def device_count():
    """How many GPUs this process sees (fixed when the module was imported)."""
    return len(_VISIBLE)


def physical_devices():
    """The node's GPUs this process sees, as a list: its device 0 is the node's GPU ``physical_devices()[0]``."""
    return list(_VISIBLE)


def run_on_device(device=0):
    """A stand-in for a kernel launch on this process's GPU ``device``: returns the node's GPU it ran on."""
    if not _VISIBLE:
        raise RuntimeError("CUDA error: no CUDA-capable device is detected (stand-in)")
    if not 0 <= device < len(_VISIBLE):
        raise RuntimeError(f"CUDA error: invalid device ordinal {device} (stand-in)")
    return _VISIBLE[device]
