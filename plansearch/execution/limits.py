"""Resource limits for running one candidate."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Limits(BaseModel):
    """What one candidate may use. Times are seconds, sizes as named."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    test_timeout: float = Field(5.0, gt=0, description="Seconds one test may run.")
    candidate_timeout: float = Field(
        30.0, gt=0, description="Wall seconds for all of a candidate's tests, enforced outside it."
    )
    memory_mb: int = Field(
        512, ge=16, description="Address space a candidate may add to its own size at start."
    )
    processes: int = Field(16, ge=1, description="Processes a candidate may have at once.")
    file_size_mb: int = Field(16, ge=0, description="Largest file a candidate may write.")
    open_files: int = Field(64, ge=16, description="File descriptors a candidate may hold.")
    output_bytes: int = Field(
        16 * 1024, ge=256, description="Standard output kept per test; the rest is dropped."
    )
    tmpfs_mb: int = Field(
        64, ge=1, description="Size of the sandbox's private /tmp and /dev/shm (sandboxed levels)."
    )
