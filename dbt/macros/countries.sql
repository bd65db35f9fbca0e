{# An unknown country: no code, or the delivery interface's code for unknown (var unknown_country_code). #}
{% macro country_unknown(column) -%}
    ({{ column }} is null or {{ column }} = '{{ var("unknown_country_code") }}')
{%- endmacro %}
