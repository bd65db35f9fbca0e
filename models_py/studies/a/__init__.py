"""Study A, chapter 4: nine restricted iterated SUR systems of emigration rates on macro series.

`sur_spec.yaml` is the one home of the published specification (equations, equality restrictions,
published estimates, Table B1, Appendix C, Table 4.11); `spec` loads and validates it, `inputs`
builds the regressors, `sur` estimates, `simulate` runs the static/dynamic simulations.
"""
