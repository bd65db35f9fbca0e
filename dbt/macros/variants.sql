{#- Study A's estimate variants (dim_a_variants: dating x multi-migrant rule): the variant's columns and whether
    the settings select it for an estimator. A variant is selected when it has the settings' dating and the
    settings' multi-migrant rule of that estimator: `macro` for the chapter 4 input series and the flows,
    `micro` for the national, centrality and county series (spec A §2.2, §7). -#}
{% macro variant_columns(alias, estimator) -%}
{%- if estimator not in ['macro', 'micro'] -%}
{{ exceptions.raise_compiler_error("variant_columns: estimator must be 'macro' or 'micro', got " ~ estimator) }}
{%- endif -%}
{{ alias }}.dating, {{ alias }}.multi_migrants, {{ alias }}.variant, {{ alias }}.dating_order, {{ alias }}.mm_order,
    cast({{ alias }}.selected_dating and {{ alias }}.selected_mm_{{ estimator }} as boolean) as selected,
    cast({{ alias }}.selected_dating as boolean) as selected_dating,
    cast({{ alias }}.selected_mm_{{ estimator }} as boolean) as selected_multi_migrants
{%- endmacro %}
