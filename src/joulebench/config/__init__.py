"""Typed run configurations: frozen dataclasses and hashing.

Reading configuration files (YAML) into validated configurations is one layer up, in
:mod:`joulebench.configuration`, where the tasks, reductions and models that check them are known: this
package imports none of them.
"""

from joulebench.config.schema import MeasureConfig, ReductionSpec, RunConfig, TrainConfig, config_hash

__all__ = ["MeasureConfig", "ReductionSpec", "RunConfig", "TrainConfig", "config_hash"]
