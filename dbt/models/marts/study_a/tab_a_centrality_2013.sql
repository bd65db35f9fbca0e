{{ config(materialized='table') }}
-- Study A Table 5.1 (text box, §5.1 of the report; spec A §3.5): per centrality level of the
-- municipalities of 1.1.2013, the number of municipalities (seed municipalities_2013), the
-- residents and the immigrants resident on 1 January of var study_a_centrality_reference_year
-- (2013 borders) and their shares of the national totals. centrality 0 = all levels; residents
-- with an unknown municipality are left out of both (spec A §3.6).
{% set ref_year = var('study_a_centrality_reference_year') %}
with m as (
    select cast(centrality as {{ dbt.type_int() }}) as centrality, count(*) as municipalities
    from {{ ref('municipalities_2013') }} group by centrality
),
py as (
    select centrality, is_immigrant
    from {{ ref('fct_person_year') }}
    where resident_jan1 and year = {{ ref_year }} and centrality is not null
),
p as (
    select centrality, count(*) as residents, sum(case when is_immigrant then 1 else 0 end) as immigrants
    from py group by centrality
),
levels as (
    select m.centrality, m.municipalities, coalesce(p.residents, 0) as residents,
           coalesce(p.immigrants, 0) as immigrants
    from m left join p on p.centrality = m.centrality
),
with_total as (
    select * from levels
    union all
    select 0, sum(municipalities), sum(residents), sum(immigrants) from levels
),
tot as (select residents as all_residents, immigrants as all_immigrants from with_total where centrality = 0)
select
    cast(w.centrality as {{ dbt.type_int() }})             as centrality,
    cast({{ ref_year }} as {{ dbt.type_int() }})           as reference_year,
    cast(w.municipalities as {{ dbt.type_int() }})         as municipalities,
    cast(w.residents as {{ dbt.type_bigint() }})           as residents_jan1,
    cast(t.all_residents as {{ dbt.type_bigint() }})       as all_residents_jan1,
    cast(100.0 * w.residents / nullif(t.all_residents, 0) as {{ type_double() }}) as population_share_pct,
    cast(w.immigrants as {{ dbt.type_bigint() }})          as immigrants_jan1,
    cast(t.all_immigrants as {{ dbt.type_bigint() }})      as all_immigrants_jan1,
    cast(100.0 * w.immigrants / nullif(t.all_immigrants, 0) as {{ type_double() }}) as immigrant_share_pct
from with_total as w
cross join tot as t
