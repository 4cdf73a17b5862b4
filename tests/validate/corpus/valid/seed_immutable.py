from dataclasses import dataclass
from cadence import ImmutableScore


@dataclass(frozen=True)
class Config(ImmutableScore):
    api_key: str
    timeout: int = 30


# Create new score with changes
new_config = config.with_field("timeout", 60)
