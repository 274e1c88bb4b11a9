"""The data kinds of a `data build` dir, their columns and the card's file name: the one list that `data build`,
`data import`, `train`, `experiment` and the trainer registry read."""

from __future__ import annotations

CARD = "card.json"  # a data dir's card (written last: a dir with a card is complete)
TRAIN_FILE, EVAL_FILE = "train.jsonl", "eval.jsonl"

SFT_KINDS = ("dplus", "dplus-oneturn", "reflection", "correction", "qa")  # prompt/completion rows
PREF_KINDS = ("dpm", "dpref")  # prompt/chosen/rejected rows (DPO)
FAILURE_KINDS = ("failures",)  # prompts + docs of failed attempts (GRPO rollouts)
KINDS = SFT_KINDS + PREF_KINDS + FAILURE_KINDS

# the chat columns (lists of messages) each kind's rows must hold
COLUMNS: dict[str, tuple[str, ...]] = {
    **{k: ("prompt", "completion") for k in SFT_KINDS},
    **{k: ("prompt", "chosen", "rejected") for k in PREF_KINDS},
    **{k: ("prompt",) for k in FAILURE_KINDS},
}
# kinds whose rows are kept whole (every one of these columns present), not reduced to their chat columns
KEEP: dict[str, tuple[str, ...]] = {k: ("prompt", "attempt_prompt", "doc", "task", "doc_hash", "feedback")
                                    for k in FAILURE_KINDS}
# what a kind's rows are, where the kind's name does not say it (for the messages of `train`)
NOTES = {k: "prompts + docs for GRPO" for k in FAILURE_KINDS}
# kinds whose completions hold a user turn (the retry request between reflection and retry)
MULTI_MESSAGE_KINDS = ("dplus",)
