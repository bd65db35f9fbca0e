-- Study A §7 consistency: each single-dimension breakdown (sex, age group, botid group, country
-- group) sums to the national total, in both the numerator and the 1 January stock; centrality
-- sums to the total of residents with a known municipality.
with t as (
    select year, emigrations, population_jan1 from {{ ref('rate_a_micro') }} where breakdown = 'total'
),
b as (
    select breakdown, year, sum(emigrations) as emigrations, sum(population_jan1) as population_jan1
    from {{ ref('rate_a_micro') }}
    where breakdown in ('sex', 'age_group', 'botid_group', 'country_group')
    group by breakdown, year
)
select b.breakdown, b.year, b.emigrations, t.emigrations as total_emigrations,
       b.population_jan1, t.population_jan1 as total_population_jan1
from b inner join t on t.year = b.year
where b.emigrations <> t.emigrations or b.population_jan1 <> t.population_jan1
