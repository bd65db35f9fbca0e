{#- Use the configured schema name as is (staging, intermediate, marts, classifications) instead of
    dbt's default "<target_schema>_<custom>", so other code can read e.g. marts.fct_person_year. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
