{#- Per-year row-count anomaly test (PUDL's check_row_counts_per_partition idea, but relative to the
    neighbouring years instead of a seed of expected counts, which a simulator/new register cannot
    supply). A year fails when its row count differs from the median of the other years in the
    window [year - window, year + window] by more than `max_relative_change`; also fails on a gap
    (a year inside the observed range with no rows). Years with fewer than `min_rows` on both sides
    are not judged (tiny test data). -#}
{% test row_count_per_year_anomaly(model, column_name, max_relative_change=0.5, window=2, min_rows=1000) %}
with counts as (
    select cast({{ column_name }} as {{ dbt.type_int() }}) as yr, count(*) as n
    from {{ model }}
    where {{ column_name }} is not null
    group by 1
),
bounds as (
    select min(yr) as y0, max(yr) as y1 from counts
),
neighbours as (
    select c.yr, c.n,
           (select median(o.n) from counts o
             where o.yr between c.yr - {{ window }} and c.yr + {{ window }} and o.yr <> c.yr) as ref_n
    from counts c
),
gaps as (
    select cast(y.yr as {{ dbt.type_int() }}) as yr, cast(0 as bigint) as n, cast(null as double) as ref_n,
           'missing year' as problem
    from bounds b,
         (select distinct yr + 1 as yr from counts) y
    where y.yr < b.y1 and y.yr not in (select yr from counts)
)
select yr, n, ref_n, 'row count off by more than {{ max_relative_change }} of neighbours' as problem
from neighbours
where ref_n is not null
  and greatest(n, ref_n) >= {{ min_rows }}
  and abs(n - ref_n) > {{ max_relative_change }} * ref_n
union all
select * from gaps
{% endtest %}
