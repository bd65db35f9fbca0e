{{ config(materialized='table') }}
-- Study C destination distributions (§3.5 estimator 3): share of emigrations per destination
-- category within each cell. panel 'L' = all emigrations (7 categories); 'R' = only known,
-- non-origin destinations (NORDIC, UK, USA_CAN, GERMANY, OTHER).
--   c_fig_5: group; c_fig_8: group x education; c_fig_14: descendants x origin;
--   c_fig_16: descendants x origin x education with merged categories ORIGIN/UNKNOWN/NORDIC/OTHER [A];
--   c_fig_18: group x destination group (19).
with ev as (select * from {{ ref('int_c_events') }}),
cells as (
    select 'c_fig_5' as exhibit, 'L' as panel, population_group, 'all' as level1, 'all' as level2,
           dest_cat7 as destination, count(*) as n
    from ev group by population_group, dest_cat7
    union all
    select 'c_fig_5', 'R', population_group, 'all', 'all', dest_cat7, count(*)
    from ev where dest_cat7 not in ('ORIGIN', 'UNKNOWN') group by population_group, dest_cat7
    union all
    select 'c_fig_8', 'L', population_group, educ_c, 'all', dest_cat7, count(*)
    from ev group by population_group, educ_c, dest_cat7
    union all
    select 'c_fig_8', 'R', population_group, educ_c, 'all', dest_cat7, count(*)
    from ev where dest_cat7 not in ('ORIGIN', 'UNKNOWN') group by population_group, educ_c, dest_cat7
    union all
    select 'c_fig_14', 'L', population_group, origin_group19, 'all', dest_cat7, count(*)
    from ev where population_group = 'G1+G2' group by population_group, origin_group19, dest_cat7
    union all
    select 'c_fig_14', 'R', population_group, origin_group19, 'all', dest_cat7, count(*)
    from ev where population_group = 'G1+G2' and dest_cat7 not in ('ORIGIN', 'UNKNOWN')
    group by population_group, origin_group19, dest_cat7
    union all
    select 'c_fig_16', 'L', population_group, origin_group19, educ_c,
           case when dest_cat7 in ('ORIGIN', 'UNKNOWN', 'NORDIC') then dest_cat7 else 'OTHER' end, count(*)
    from ev where population_group = 'G1+G2'
    group by population_group, origin_group19, educ_c,
             case when dest_cat7 in ('ORIGIN', 'UNKNOWN', 'NORDIC') then dest_cat7 else 'OTHER' end
    union all
    select 'c_fig_18', 'L', population_group, 'all', 'all', coalesce(dest_group19, 'unknown'), count(*)
    from ev group by population_group, coalesce(dest_group19, 'unknown')
    union all
    select 'c_fig_18', 'R', population_group, 'all', 'all', coalesce(dest_group19, 'unknown'), count(*)
    from ev where dest_cat7 not in ('ORIGIN', 'UNKNOWN') group by population_group, coalesce(dest_group19, 'unknown')
),
-- a complete grid: every destination category of the panel in every cell, zero when no emigration
-- went there (a stacked bar's zero segment is a published value, not a missing one)
keys as (select distinct exhibit, panel, population_group, level1, level2 from cells),
categories as (
    select distinct exhibit, panel, destination from cells
    {%- for ex in ['c_fig_5', 'c_fig_8', 'c_fig_14'] %}
    {%- for d in ['ORIGIN', 'UNKNOWN', 'NORDIC', 'UK', 'USA_CAN', 'GERMANY', 'OTHER'] %}
    union
    select '{{ ex }}', 'L', '{{ d }}'
    {%- if d not in ['ORIGIN', 'UNKNOWN'] %}
    union
    select '{{ ex }}', 'R', '{{ d }}'
    {%- endif %}
    {%- endfor %}
    {%- endfor %}
    {%- for d in ['ORIGIN', 'UNKNOWN', 'NORDIC', 'OTHER'] %}
    union
    select 'c_fig_16', 'L', '{{ d }}'
    {%- endfor %}
),
grid as (
    select k.exhibit, k.panel, k.population_group, k.level1, k.level2, c.destination, coalesce(x.n, 0) as n
    from keys as k
    inner join categories as c on c.exhibit = k.exhibit and c.panel = k.panel
    left join cells as x
      on x.exhibit = k.exhibit and x.panel = k.panel and x.population_group = k.population_group
     and x.level1 = k.level1 and x.level2 = k.level2 and x.destination = c.destination
)
select
    cast(exhibit as {{ dbt.type_string() }})          as exhibit,
    cast(panel as {{ dbt.type_string() }})            as panel,
    cast(population_group as {{ dbt.type_string() }}) as population_group,
    cast(level1 as {{ dbt.type_string() }})           as level1,
    cast(level2 as {{ dbt.type_string() }})           as level2,
    cast(destination as {{ dbt.type_string() }})      as destination,
    cast(n as {{ dbt.type_bigint() }})                as emigrations,
    cast(sum(n) over (partition by exhibit, panel, population_group, level1, level2) as {{ dbt.type_bigint() }})
                                                      as cell_emigrations,
    cast(100.0 * n / nullif(sum(n) over (partition by exhibit, panel, population_group, level1, level2), 0)
         as {{ type_double() }})                      as share_pct,
    {{ small_cell('sum(n) over (partition by exhibit, panel, population_group, level1, level2)') }} as small_cell
from grid
