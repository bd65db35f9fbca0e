-- Study A county tables (Figs 5.27-5.47): for every variant, breakdown level and period, the counties add up to
-- the national row ('00') in emigrations, 1 January stocks and the county totals beside each level. The last holds
-- only if every county has a row for every level (a zero row where a county has no such immigrants): the
-- disclosure gate audits these tables with exactly these margins, and a missing row makes its relations
-- inconsistent (seen on a register of about 2,500 residents).
with c as (
    select variant, breakdown, level1, period,
           sum(case when county_code <> '00' then emigrations end)                 as emigrations,
           sum(case when county_code <> '00' then population_jan1_sum end)         as population_jan1_sum,
           sum(case when county_code <> '00' then county_population_jan1_sum end)  as county_population_jan1_sum,
           max(case when county_code = '00' then emigrations end)                  as national_emigrations,
           max(case when county_code = '00' then population_jan1_sum end)          as national_population_jan1_sum,
           max(case when county_code = '00' then county_population_jan1_sum end)   as national_county_population
    from {{ ref('rate_a_county_period_variants') }}
    group by variant, breakdown, level1, period
)
select * from c
where coalesce(emigrations, 0) <> coalesce(national_emigrations, 0)
   or coalesce(population_jan1_sum, 0) <> coalesce(national_population_jan1_sum, 0)
   or coalesce(county_population_jan1_sum, 0) <> coalesce(national_county_population, 0)
