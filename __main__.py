"""orquestra: load the stack's spec, build its fleet, export the outputs."""

import pulumi

from components import fleet, spec

try:
    built = fleet.build(spec.load())
except spec.SpecError as err:
    for line in err.problems:
        pulumi.log.error(line)
    raise pulumi.RunError(f"{len(err.problems)} problem(s) in the stack config; nothing was changed") from None

fleet.export(built)
