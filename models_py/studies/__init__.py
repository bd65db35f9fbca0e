"""Study-specific models: one sub-package per study (a = SSB 2015/17 immigrants' emigration)."""
