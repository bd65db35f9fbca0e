{{ config(materialized='table') }}
-- Study B's risk set under the missing-destination rules other than the main one (spec B §4.3.6
-- sensitivity runs): 'person' drops persons whose first emigration has no destination, 'censor' drops
-- that emigration year only, 'return' codes it as a return. Same definition as the main panel (macro
-- study_b_panel), so the income percentiles are re-ranked within each variant's own sample.
{% set rules = [] %}
{% for rule in var('study_b_missing_destination_rules') if rule != var('study_b_missing_destination') %}
{% do rules.append(rule) %}
{% endfor %}
{% for rule in rules %}
select cast('{{ rule }}' as {{ dbt.type_string() }}) as missing_destination, v.*
from ({{ study_b_panel(rule, var('study_b_self_employed')) }}) as v
{% if not loop.last %}union all{% endif %}
{% endfor %}
