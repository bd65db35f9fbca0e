{#- Banded classifications (study A Tables A2/A3, study B §4.1): cut points and labels live once, in the
    `bands` var of dbt_project.yml, which the simulator and the Python code read too (models_py/bands.py).
    A value belongs to the first band whose inclusive upper bound it does not exceed; null is 'unknown'. -#}
{% macro band(name, value) -%}
{%- set spec = var('bands')[name] -%}
case when {{ value }} is null then 'unknown'
{%- for upper in spec['upper'] %}
     when {{ value }} <= {{ upper }} then '{{ spec['labels'][loop.index0] }}'
{%- endfor %}
     else '{{ spec['labels'][-1] }}' end
{%- endmacro %}

{#- Study A Table A2 age groups (§3.2). -#}
{% macro age_group_a(age) -%}{{ band('age_group_a', age) }}{%- endmacro %}

{#- Study A Table A3a duration-of-residence groups (macro model, §3.3). -#}
{% macro botid_group_a3a(botid) -%}{{ band('botid_group_a3a', botid) }}{%- endmacro %}

{#- Study A Table A3b duration-of-residence groups (regional analyses, §3.3). -#}
{% macro botid_group_a3b(botid) -%}{{ band('botid_group_a3b', botid) }}{%- endmacro %}

{#- Study B §4.1 age bands [I]: 20-27 (ref), 28-34, 35-39, 40-49, 50-65. -#}
{% macro age_band_b(age) -%}{{ band('age_band_b', age) }}{%- endmacro %}

{#- Study B §4.1 duration bands [I]: 0-1 (ref), 2-4, 5-9, 10+. -#}
{% macro dur_band_b(dur) -%}{{ band('dur_band_b', dur) }}{%- endmacro %}

{#- Study B §4.1 education [I]: low = NUS 0-2, medium = 3-5 (upper secondary and post-secondary
    non-tertiary), high = 6-8 (tertiary), unknown = not registered. -#}
{% macro educ_b(nus) -%}{{ band('educ_b', nus) }}{%- endmacro %}

{#- Study C §2.9: 'high' = bachelor or more (NUS >= var education_high_min_nus), else 'low'
    including missing. -#}
{% macro educ_c(nus) -%}
case when {{ nus }} >= {{ var('education_high_min_nus') }} then 'high' else 'low' end
{%- endmacro %}

{#- Study B §4.1 income groups from a 0-100 percentile [I]: P0-9 ... P80-89, P90-94, P95-98, P99+. -#}
{% macro inc_group_b(pct) -%}
case when {{ pct }} is null then 'none'
     when {{ pct }} >= 99 then 'P99+'
     when {{ pct }} >= 95 then 'P95-98'
     when {{ pct }} >= 90 then 'P90-94'
     else {{ dbt.concat(["'P'", "cast(cast(floor(" ~ pct ~ " / 10) * 10 as integer) as " ~ dbt.type_string() ~ ")", "'-'", "cast(cast(floor(" ~ pct ~ " / 10) * 10 + 9 as integer) as " ~ dbt.type_string() ~ ")"]) }}
end
{%- endmacro %}

{#- Study C period4 (§2.2 [A]) from var study_c_periods. -#}
{% macro period_c(year) -%}
case
{%- for p in var('study_c_periods') %}
  when {{ year }} between {{ p[0] }} and {{ p[1] }} then '{{ p[0] }}-{{ p[1] }}'
{%- endfor %}
  else null end
{%- endmacro %}

{#- Study A county periods (§2.5) from var study_a_county_periods. -#}
{% macro period_a_county(year) -%}
case
{%- for p in var('study_a_county_periods') %}
  when {{ year }} between {{ p[0] }} and {{ p[1] }} then '{{ p[0] }}-{{ p[1] }}'
{%- endfor %}
  else null end
{%- endmacro %}

{#- The label of a band by position (0-based; -1 = the open top band), from the same var. -#}
{% macro band_label(name, position) -%}'{{ var('bands')[name]['labels'][position] }}'{%- endmacro %}

{#- The 1-based number of a band label (the SUR equations number the age groups), null for others. -#}
{% macro band_number(name, label_sql) -%}
case {{ label_sql }}
{%- for label in var('bands')[name]['labels'] %} when '{{ label }}' then {{ loop.index }}{% endfor %} end
{%- endmacro %}

{#- A band from a value that may be unknown but bounded below (a first immigration before the deliveries): the
    open top band when the lower bound is past the last cut point, else band(name, value). `known_below` is the
    SQL condition under which the lower bound applies. -#}
{% macro band_with_lower_bound(name, value, lower_bound, known_below) -%}
case when {{ value }} is null and {{ known_below }} and {{ lower_bound }} > {{ var('bands')[name]['upper'][-1] }}
     then {{ band_label(name, -1) }} else {{ band(name, value) }} end
{%- endmacro %}
