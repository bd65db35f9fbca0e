{# Codes and code lists that live once, in dbt vars. #}
{# An unknown country: no code, or the delivery interface's code for unknown (var unknown_country_code). #}
{% macro country_unknown(column) -%}
    ({{ column }} is null or {{ column }} = '{{ var("unknown_country_code") }}')
{%- endmacro %}

{# A list var as a SQL list of string literals (trusted settings only): 'G1', 'G2', ... #}
{% macro quoted_list(values) -%}
    {%- for v in values %}'{{ v }}'{{ ", " if not loop.last }}{% endfor -%}
{%- endmacro %}
