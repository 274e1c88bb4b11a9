"""Default verifier: a task's own lm-eval filter pipeline and metric decide correctness.

This is what makes any lm-eval YAML (``filter_list`` + ``metric_list: exact_match``) run under every
protocol with exactly the verdicts stock ``lm_eval.simple_evaluate`` would give attempt 1. One filter (the first,
or ``metadata.reflection.filter``) and one metric decide correctness; every filter is applied and reported, as
lm-eval reports them: ``details["scores"]`` holds ``{"<metric>,<filter>": value}`` for every filter and metric
(lm-eval's results keys) and ``details["filtered"]`` each filter's extracted answer.
"""

from __future__ import annotations

from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.lmeval_api import filter_ensembles, metric_names
from reflectevo_bench.tasks.verdict import Verdict


class LmEvalVerifier:
    """Apply one filter ensemble of the task, then ``task.process_results``; correct iff metric == 1."""

    def __init__(self, task: Any, metric: str | None = None, filter_name: str | None = None) -> None:
        self.task = task
        ensembles = filter_ensembles(task)
        self.ensembles = ensembles
        if not ensembles:
            raise BenchError(f"task '{task.task_name}' has no filter pipeline")
        if filter_name is None:
            self.ensemble = ensembles[0]
        else:
            named = [e for e in ensembles if e.name == filter_name]
            if not named:
                names = [e.name for e in ensembles]
                raise BenchError(f"task '{task.task_name}': no filter named '{filter_name}' (has {names})")
            self.ensemble = named[0]
        metrics = metric_names(task)
        if metric is None:
            if not metrics:
                raise BenchError(
                    f"task '{task.task_name}' declares no metric; add metric_list or a reflection verifier"
                )
            metric = metrics[0]
        self.metric = metric

    @property
    def name(self) -> str:
        return f"lm-eval:{self.metric},{self.ensemble.name}"

    def extract(self, doc: dict, response: str, ensemble: Any = None) -> Any:
        resps: Any = [[response]]
        for make_filter in (ensemble or self.ensemble).filters:
            resps = list(make_filter().apply(resps, [doc]))
        return resps[0]

    def __call__(self, doc: dict, response: str) -> Verdict:
        every: dict[str, float] = {}
        filtered: dict[str, Any] = {}
        for ensemble in self.ensembles:
            value = self.extract(doc, response, ensemble)
            filtered[ensemble.name] = value if isinstance(value, (str, int, float, type(None))) else repr(value)
            results = self.task.process_results(doc, [value])
            for key, metric_value in results.items():
                if isinstance(metric_value, (int, float)):
                    every[f"{key},{ensemble.name}"] = float(metric_value)
            if ensemble is self.ensemble:
                extracted, scores = value, results
        if self.metric not in scores:
            raise BenchError(
                f"task '{self.task.task_name}': metric '{self.metric}' not produced by process_results "
                f"(got {sorted(scores)})"
            )
        value = float(scores[self.metric])
        correct = value >= 1.0
        return Verdict(
            correct=correct,
            score=value,
            feedback="",
            extracted=extracted if isinstance(extracted, str) else repr(extracted),
            details={"metric": self.metric, "filter": self.ensemble.name, "scores": every, "filtered": filtered},
        )
