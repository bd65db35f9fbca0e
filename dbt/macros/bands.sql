{#- Study A Table A2 age groups (§3.2). -#}
{% macro age_group_a(age) -%}
case when {{ age }} is null then 'unknown'
     when {{ age }} <= 6 then '0-6'
     when {{ age }} <= 17 then '7-17'
     when {{ age }} <= 34 then '18-34'
     when {{ age }} <= 62 then '35-62'
     when {{ age }} <= 70 then '63-70'
     else '71+' end
{%- endmacro %}

{#- Study A Table A3a duration-of-residence groups (macro model, §3.3). -#}
{% macro botid_group_a3a(botid) -%}
case when {{ botid }} is null then 'unknown'
     when {{ botid }} <= 2 then '0-2'
     when {{ botid }} <= 9 then '3-9'
     else '10+' end
{%- endmacro %}

{#- Study A Table A3b duration-of-residence groups (regional analyses, §3.3). -#}
{% macro botid_group_a3b(botid) -%}
case when {{ botid }} is null then 'unknown'
     when {{ botid }} <= 2 then '0-2'
     when {{ botid }} <= 5 then '3-5'
     when {{ botid }} <= 10 then '6-10'
     when {{ botid }} <= 15 then '11-15'
     else '16+' end
{%- endmacro %}

{#- Study B §4.1 age bands [I]: 20-27 (ref), 28-34, 35-39, 40-49, 50-65. -#}
{% macro age_band_b(age) -%}
case when {{ age }} is null then 'unknown'
     when {{ age }} <= 27 then '20-27'
     when {{ age }} <= 34 then '28-34'
     when {{ age }} <= 39 then '35-39'
     when {{ age }} <= 49 then '40-49'
     else '50-65' end
{%- endmacro %}

{#- Study B §4.1 duration bands [I]: 0-1 (ref), 2-4, 5-9, 10+. -#}
{% macro dur_band_b(dur) -%}
case when {{ dur }} is null then 'unknown'
     when {{ dur }} <= 1 then '0-1'
     when {{ dur }} <= 4 then '2-4'
     when {{ dur }} <= 9 then '5-9'
     else '10+' end
{%- endmacro %}

{#- Study B §4.1 education [I]: low = NUS 0-2, medium = 3-5 (upper secondary and post-secondary
    non-tertiary), high = 6-8 (tertiary), unknown = not registered. -#}
{% macro educ_b(nus) -%}
case when {{ nus }} is null then 'unknown'
     when {{ nus }} <= 2 then 'low'
     when {{ nus }} <= 5 then 'medium'
     else 'high' end
{%- endmacro %}

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
