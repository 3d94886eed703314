"""What the model is asked to return when it grades an answer (the forced tool call's schema)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from knowledge.ids import DIMENSIONS


class DimensionJudgement(BaseModel):
    """The model's view of one dimension: a 1-4 score, exact quotes from the answer, what is missing."""

    model_config = ConfigDict(extra="ignore")

    score: int = Field(ge=1, le=4, description="1 to 4, per the rubric anchors at the candidate's level")
    evidence: list[str] = Field(
        default_factory=list, description="up to three exact quotes from the answer that support the score"
    )
    missing: list[str] = Field(default_factory=list, description="a few words each: what a strong answer would add")


class FailureModeJudgement(BaseModel):
    """A failure mode the model sees, with exact quotes when the candidate does the harmful thing."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(description="a failure mode id from the list that applies to this case")
    evidence: list[str] = Field(
        default_factory=list, description="exact quotes from the answer; empty when the mode is about an absence"
    )


class ModelJudgement(BaseModel):
    """The model's grade of one answer: eight dimensions, failure modes and a short summary."""

    model_config = ConfigDict(extra="ignore")

    requirements: DimensionJudgement
    framing: DimensionJudgement
    data: DimensionJudgement
    modeling: DimensionJudgement
    evaluation: DimensionJudgement
    serving: DimensionJudgement
    monitoring: DimensionJudgement
    communication: DimensionJudgement
    failure_modes: list[FailureModeJudgement] = Field(default_factory=list)
    summary: str = Field(default="", description="two or three sentences of feedback; no hire decision")

    def dimension(self, dim: str) -> DimensionJudgement:
        """The judgement of one dimension by id."""
        if dim not in DIMENSIONS:
            raise KeyError(f"unknown dimension {dim!r}")
        value = getattr(self, dim)
        assert isinstance(value, DimensionJudgement)
        return value


__all__ = ["DimensionJudgement", "FailureModeJudgement", "ModelJudgement"]
