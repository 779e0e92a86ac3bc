"""orquestra's CrossGuard policy pack: the same rules under `pulumi preview --policy-pack` and preflight."""
