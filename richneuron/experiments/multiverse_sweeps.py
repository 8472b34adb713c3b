"""The multiverse's protocols, read back from the committed sweep files (Multiverse, Scaling and
Synthesis chapters).

The chapters' protocol first, then every protocol of each factor
(:data:`richneuron.analysis.multiverse.FACTORS`), the fairly tuned one and those around it, each a
:class:`richneuron.analysis.multiverse.Protocol` of the panel's runs: :func:`load`. A sweep file not
committed leaves its protocols out (:func:`missing`, :func:`missing_text`). This module reads
the files; what the protocols decide is computed from them by :mod:`richneuron.analysis.multiverse`,
which reads none.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..analysis.capacity import compute_used
from ..analysis.multiverse import CALIBRATED, FACTORS, PANEL, Protocol, panel_runs
from ..config import TrainConfig
from ..paths import SWEEP_DIR
from ..store.results import ResultsError, ResultSet
from ..tasks import base_of, is_variant
from .study import load_sweep
from .tuning import RELATIVE, space
from .tuning_results import chosen_settings, tuned_set

__all__ = ["AROUND", "CALIBRATED_FILE", "TUNING", "compute", "load", "missing", "missing_text"]


def missing(sweep_dir: str | Path = SWEEP_DIR) -> list[str]:
    """The multiverse's sweep files not in ``sweep_dir`` (their protocols are left out)."""
    stems = [TUNING, AROUND, *(s for f in FACTORS for s in f.sweeps), CALIBRATED_FILE]
    return [f"{s}.json" for s in stems if not (Path(sweep_dir) / f"{s}.json").is_file()]


def missing_text(sweep_dir: str | Path | None = SWEEP_DIR) -> str:
    """A sentence naming the multiverse's sweep files not committed (their protocols are left
    out), or saying that every one is in ``sweep_dir``; empty without a ``sweep_dir``."""
    if sweep_dir is None:
        return ""
    absent = missing(sweep_dir)
    if not absent:
        return f"Every sweep file of the multiverse is in {sweep_dir}, so no protocol is left out."
    return (
        f"Not trained yet, so left out of this build: the protocols of {', '.join(absent)} "
        f"(in {sweep_dir})."
    )


def _load_panel_file(path: Path, seeds, beyond_panel: bool = False):
    """A multiverse file read back, refused (one line naming it) when it holds an architecture
    outside the panel or lacks one of the chapters' ``seeds``. With ``beyond_panel`` (the
    fair-tuning file, which tunes every architecture) it may hold others: the caller keeps the
    panel's runs."""
    result = load_sweep(path)
    outside = sorted(set(result.sweep.archs) - set(PANEL))
    if outside and not beyond_panel:
        raise ResultsError(f"{path}: architectures {outside} are not in the panel")
    lacking = sorted(set(seeds) - set(result.sweep.seed_range))
    if lacking:
        raise ResultsError(f"{path}: lacks the chapters' seeds {lacking}")
    return result


def load(chapters: ResultSet, sweep_dir: str | Path | None = SWEEP_DIR) -> list[Protocol]:
    """Every protocol of the multiverse with the panel's runs: the chapters' protocol first
    (``chapters``, the version chapters' results, restricted to :data:`PANEL`), then each
    factor's values in :data:`FACTORS` order, from the sweep files in ``sweep_dir`` (a missing
    file leaves its protocols out: :func:`missing`; ``None``: the chapters' protocol alone).

    Raises:
        ResultsError: naming the file: corrupt, an architecture outside the panel, a seed of
            the chapters' missing (the sweeps' other seeds are left out), or a protocol that
            changes more than its factor.
    """

    base = TrainConfig(**chapters.config)
    seeds = sorted({r.run.seed for r in chapters.runs})
    default = ResultSet(
        "chapters' protocol", chapters.config, chapters.provenance, panel_runs(chapters, PANEL)
    )
    protocols = [Protocol("default", None, default)]
    tuned = _tuned(chapters, sweep_dir) if sweep_dir is not None else None
    if tuned is not None:
        protocols.append(Protocol("tuned", None, tuned))
        protocols += _around(chapters, tuned, sweep_dir)
    for factor in FACTORS if sweep_dir is not None else ():
        found = []
        for stem in factor.sweeps:
            path = Path(sweep_dir) / f"{stem}.json"
            if not path.is_file():
                continue
            result = _load_panel_file(path, seeds)
            for rs in result.sets:
                config = TrainConfig(**rs.config)
                value = getattr(config, factor.field)
                # the budget's 1K point matches widths within the original's 5%, not 2%
                allowed = {factor.field} | ({"tolerance"} if factor.field == "budget" else set())
                changed = {k for k, v in config.to_dict().items() if getattr(base, k) != v}
                if changed - allowed or value == getattr(base, factor.field):
                    raise ResultsError(
                        f"{path}: protocol {rs.config} does not change {factor.field} alone"
                    )
                borrowed = [
                    r
                    for r in panel_runs(chapters, factor.unaffected)
                    if r.run.arch not in result.sweep.archs
                ]
                runs = [*(r for r in rs.runs if r.run.seed in seeds), *borrowed]
                found.append(
                    Protocol(
                        factor.field, value, ResultSet(rs.name, rs.config, rs.provenance, runs)
                    )
                )
        protocols += sorted(found, key=lambda p: p.value)
    calibrated = _calibrated(chapters, sweep_dir) if sweep_dir is not None else None
    return protocols + ([calibrated] if calibrated is not None else [])


#: The panel on the tasks calibrated to the published baseline (sweeps/multiverse-calibrated.yaml,
#: the Tasks chapter's calibration): the multiverse's "calibrated tasks" protocol.
CALIBRATED_FILE = "multiverse-calibrated"


def _calibrated(chapters: ResultSet, sweep_dir: str | Path) -> Protocol | None:
    """The panel on the calibrated tasks alone, at every seed the file holds (ten, where the
    other protocols share the chapters' five); None when the file is not committed. A finding
    about a task without a calibrated setting (HiFreq, Memorize, the generalisation tasks) is
    not tested in this protocol, so the chapters' verdict is not counted twice.

    Raises:
        ResultsError: naming the file: corrupt, an architecture outside the panel, a task that
            is not a setting of one of the nine, or a protocol other than the chapters'.
    """
    path = Path(sweep_dir) / f"{CALIBRATED_FILE}.json"
    if not path.is_file():
        return None
    result = _load_panel_file(path, sorted({r.run.seed for r in chapters.runs}))
    (rs,) = result.sets if len(result.sets) == 1 else (None,)
    if rs is None or TrainConfig(**rs.config) != TrainConfig(**chapters.config):
        raise ResultsError(f"{path}: not one protocol, the chapters'")
    calibrated = {base_of(t) for t in result.sweep.tasks if is_variant(t)}
    if len(calibrated) != len(result.sweep.tasks):
        raise ResultsError(f"{path}: a task that is not a calibrated setting, or one twice")
    return Protocol(CALIBRATED, None, ResultSet(rs.name, rs.config, rs.provenance, rs.runs))


#: The fair-tuning file (sweeps/tuning.yaml): its tuned runs are the multiverse's "tuned"
#: protocol, each (architecture, task) at the setting its own search chose.
TUNING = "tuning"


def _tuned(chapters: ResultSet, sweep_dir: str | Path) -> ResultSet | None:
    """The panel's tuned runs (:func:`~richneuron.experiments.tuning_results.tuned_set`) at the
    chapters' seeds, or None when the tuning file is not committed (it tunes every architecture;
    the multiverse keeps the panel's)."""
    path = Path(sweep_dir) / f"{TUNING}.json"
    if not path.is_file():
        return None
    seeds = {r.run.seed for r in chapters.runs}
    result = _load_panel_file(path, seeds, beyond_panel=True)
    tuned = tuned_set(result, TrainConfig(**chapters.config))
    runs = [r for r in tuned.runs if r.run.seed in seeds and r.run.arch in PANEL]
    return ResultSet("tuned", tuned.config, tuned.provenance, runs)


#: The multiverse around the tuned protocol (sweeps/multiverse-tuned.yaml).
AROUND = "multiverse-tuned"


def _around(chapters: ResultSet, tuned: ResultSet, sweep_dir: str | Path) -> list[Protocol]:
    """The protocols around the tuned one (:class:`richneuron.experiments.tuning.Around`): the runs
    of each change, every (architecture, task) at its chosen setting so changed; none when the file
    is not committed. A change of a tuned hyperparameter that an architecture does not tune
    (omega for vanilla, bilinear and KAN) leaves that architecture's runs the ``tuned`` ones, as
    the chapters' runs stand in for the factors they cannot change.

    Raises:
        ResultsError: naming the file: a run that changes more or less than one setting of its
            tuned one.
    """
    path = Path(sweep_dir) / f"{AROUND}.json"
    if not path.is_file():
        return []
    result = load_sweep(path)
    tuned_result = load_sweep(Path(sweep_dir) / f"{result.sweep.around}.json")
    chosen, base = chosen_settings(tuned_result), tuned_result.sweep.base
    seeds = {r.run.seed for r in chapters.runs}
    groups: dict[tuple[str, str], list] = {}
    shared: dict[tuple[str, str], TrainConfig] = {}
    for rs in result.sets:
        config = TrainConfig(**rs.config)
        for r in rs.runs:
            if r.run.seed not in seeds:
                continue
            centre = base.replace(**chosen[(r.run.arch, r.run.task)])
            diff = [k for k, v in config.to_dict().items() if centre.to_dict().get(k) != v]
            if len(diff) != 1:
                raise ResultsError(f"{path}: {r.run} changes {diff}, not one setting")
            f = diff[0]
            if f in RELATIVE:
                label = f"x{getattr(config, f) / getattr(centre, f):.3g}"
            else:
                value = getattr(config, f)
                label = f"{value:,}" if isinstance(value, int) else f"{value:g}"
                shared[(f, label)] = base.replace(**{f: value})
            groups.setdefault((f, label), []).append(r)
    protocols = []
    for (f, label), runs in groups.items():
        if f in RELATIVE:
            runs = runs + [r for r in tuned.runs if f not in space(r.run.arch)]
        # a setting every run shares (the data seed) is the protocol's; a relative one
        # (x3 each run's own lr) has no single value, and the base stands for it
        config = shared.get((f, label), base)
        protocols.append(
            Protocol(
                f"tuned {f}", label, ResultSet(f"tuned {f} {label}", config.to_dict(), {}, runs)
            )
        )
    return protocols


def compute(
    sweep_dir: str | Path = SWEEP_DIR, factors: Sequence[str] | None = None, around: bool = False
):
    """The runs the multiverse trained beyond the chapters' (its sweep files in ``sweep_dir``,
    of ``factors``, default all, and with ``around`` the protocols around the tuned one,
    :data:`AROUND`) and the seconds they took here
    (:func:`richneuron.analysis.capacity.compute_used`): ``(runs, seconds)``."""
    chosen = [f for f in FACTORS if factors is None or f.field in factors]
    stems = [s for f in chosen for s in f.sweeps] + ([AROUND] if around else [])
    paths = [Path(sweep_dir) / f"{s}.json" for s in stems]
    return compute_used(load_sweep(p) for p in paths if p.is_file())
