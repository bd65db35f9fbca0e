{#- Union of group-bys: one block per breakdown, each with up to two dimension columns, giving a
    long table (breakdown, dim1, level1, dim2, level2, <group_cols>, <aggregates>).
    breakdowns: list of [name, [col1, col2?]] ; relation: a CTE name. -#}
{% macro cells_union(relation, breakdowns, group_cols, aggregates) -%}
{%- for b in breakdowns %}
select
    cast('{{ b[0] }}' as {{ dbt.type_string() }}) as breakdown,
    cast('{{ b[1][0] if b[1] | length > 0 else "total" }}' as {{ dbt.type_string() }}) as dim1,
    cast({{ b[1][0] if b[1] | length > 0 else "'all'" }} as {{ dbt.type_string() }}) as level1,
    cast('{{ b[1][1] if b[1] | length > 1 else "none" }}' as {{ dbt.type_string() }}) as dim2,
    cast({{ b[1][1] if b[1] | length > 1 else "'all'" }} as {{ dbt.type_string() }}) as level2,
    {{ group_cols | join(', ') }},
    {{ aggregates }}
from {{ relation }}
group by {{ group_cols | join(', ') }}{% for c in b[1] %}, {{ c }}{% endfor %}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- endmacro %}

{#- small-cell flag: numerator or denominator below the threshold var. Shares of a total give
    only the total (den omitted): the flag then reads the count alone. -#}
{% macro small_cell(num, den=none) -%}
cast(({{ num }}) < {{ var('small_cell_threshold') }}
     {%- if den is not none %} or ({{ den }}) < {{ var('small_cell_threshold') }}{% endif %} as boolean)
{%- endmacro %}
