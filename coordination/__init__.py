"""批分单 (seed 004 二(七)): problems the county task force routes to the mechanism's departments."""
