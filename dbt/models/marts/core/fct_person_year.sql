{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='period_start',
          batch_size='year', begin=var('panel_first_batch'), lookback=var('panel_lookback_years'),
          concurrent_batches=false, **engine_incremental_config('year')) }}
-- The person-year panel: one row per person and calendar year at risk (resident on 1 January, or
-- arrived during the year), with every covariate of studies A, B and C and the outcome of the year.
--
-- Conventions
--   age            = year - birth_year (age on 31 December; study C §2.4, the lead's interface)
--   age_jan1       = completed years on 1 January = year - birth_year - 1 (study A stocks §3.2)
--   covariates "at t-1" (study B §4.1) come from the register year t delivery: status on 1 Jan t
--   (= 31 Dec t-1: citizenship, spouse, children, municipality), education on 1 Oct t-1, income
--   of calendar year t-1.
--   outcome: registered emigrations dated in year t (administrative ones at the decision date).
-- Samples: study A stock = resident_jan1; study C = resident_jan1 and age 18-35 (filters, see
--   in_study_c); study B has person-level risk-set rules -> separate model fct_b_person_year.
with cov as (select * from {{ ref('int_register_coverage') }}),
py as (select * from {{ ref('int_person_year_status') }}),
p as (select * from {{ ref('int_person_attributes') }}),
mg as (select * from {{ ref('int_person_year_migration') }}),
base as (
    select
        py.person_id,
        py.year,
        py.period_start,
        py.resident_jan1,
        py.arrived_in_year,
        py.resident_dec31,
        p.sex,
        p.birth_year,
        cast(py.year - p.birth_year as {{ dbt.type_int() }})               as age,
        cast(py.year - p.birth_year - 1 as {{ dbt.type_int() }})           as age_jan1,
        p.immigrant_category,
        p.is_immigrant,
        p.foreign_born,
        p.birth_country,
        p.country_background,
        p.country_group_a,
        p.first_immigration_date,
        p.first_immigration_year,
        p.first_immigration_reason,
        p.age_at_first_immigration,
        p.immigrated_before_data,
        cast(coalesce(mg.n_immigrations_to_date, 0) as {{ dbt.type_int() }}) as n_immigrations_to_date,
        -- duration of residence from the first immigration (study A §3.3; study B dur_years)
        cast(py.year - p.first_immigration_year as {{ dbt.type_int() }})   as duration_years,
        cast(case when p.first_immigration_date is not null and py.resident_jan1 then
                  py.year - p.first_immigration_year
                  - case when p.first_immigration_month = 1
                              and {{ date_part_int('day', 'p.first_immigration_date') }} = 1 then 0 else 1 end
             end as {{ dbt.type_int() }})                                  as botid_jan1,
        -- lower bound when the first immigration predates the deliveries
        cast(case when p.immigrated_before_data and py.resident_jan1 then py.year - cov.first_register_year + 1 end
             as {{ dbt.type_int() }})                                      as botid_jan1_lower_bound,
        p.origin_b,
        p.in_study_b_population,
        p.group5_c,
        p.is_descendant_c,
        p.origin_country_c,
        p.origin_group53,
        p.origin_group19,
        p.origin_group19_name,
        p.age_at_immigration_imputed,
        -- status on 1 January t (= 31 Dec t-1)
        cast(coalesce(py.municipality_2013, mg.arrival_municipality_2013) as {{ dbt.type_string() }})
                                                                           as municipality_2013,
        py.citizenship,
        cast(py.citizenship = 'NOR' as boolean)                            as norwegian_citizen,
        py.marital_status,
        py.spouse_in_norway,
        py.n_children_in_household,
        cast(py.n_children_in_household > 0 as boolean)                    as children_in_household,
        -- education on 1 Oct t-1, income in calendar year t-1
        ec.nus_level, ec.enrolled_prev_year,
        ec.wage_income, ec.self_employment_income, ec.earned_income, ec.welfare_benefits,
        ec.net_wealth, ec.employed, ec.self_employed, ec.welfare_any,
        ec.income_pct_all, ec.income_pct_20_65,
        -- outcome of the year
        cast(coalesce(mg.n_emigrations, 0) as {{ dbt.type_int() }})        as n_emigrations,
        cast(case when mg.n_emigrations > 0 then 1 else 0 end as {{ dbt.type_int() }}) as emigrated,
        cast(coalesce(mg.n_administrative_emigrations, 0) as {{ dbt.type_int() }}) as n_administrative_emigrations,
        mg.emigration_type,
        mg.dest_class_b,
        mg.dest_cat7,
        mg.destination_country,
        mg.emigration_event_id,
        cast(coalesce(mg.n_immigrations, 0) as {{ dbt.type_int() }})      as n_immigrations,
        cast(coalesce(mg.n_immigrations, 0) > 0 and coalesce(mg.n_emigrations, 0) > 0 as boolean) as multi_migrant,
        cast(coalesce(p.death_year = py.year and coalesce(mg.last_direction_before_death, 'in') = 'in', false)
             as boolean)                                                   as died,
        cast(py.year > cov.last_final_year as boolean)                     as provisional
    from py
    cross join cov
    inner join p on p.person_id = py.person_id
    left join {{ ref('int_person_year_econ') }} as ec on ec.person_id = py.person_id and ec.year = py.year
    left join mg on mg.person_id = py.person_id and mg.year = py.year
)
select
    r.person_id, r.year, r.period_start, r.resident_jan1, r.arrived_in_year, r.resident_dec31,
    r.sex, r.birth_year, r.age, r.age_jan1,
    cast({{ age_group_a('r.age_jan1') }} as {{ dbt.type_string() }})          as age_group_a,
    r.immigrant_category, r.is_immigrant, r.foreign_born, r.birth_country, r.country_background,
    r.country_group_a, r.first_immigration_date, r.first_immigration_year, r.first_immigration_reason,
    r.age_at_first_immigration, r.immigrated_before_data, r.n_immigrations_to_date,
    r.duration_years, r.botid_jan1, r.botid_jan1_lower_bound,
    cast({{ band_with_lower_bound('botid_group_a3a', 'r.botid_jan1', 'r.botid_jan1_lower_bound', 'true') }}
         as {{ dbt.type_string() }}) as botid_group_a3a,
    cast({{ band_with_lower_bound('botid_group_a3b', 'r.botid_jan1', 'r.botid_jan1_lower_bound', 'true') }}
         as {{ dbt.type_string() }}) as botid_group_a3b,
    r.municipality_2013,
    cast(m.county_code as {{ dbt.type_string() }})                            as county_code,
    cast(m.centrality as {{ dbt.type_int() }})                                as centrality,
    r.citizenship, r.norwegian_citizen, r.marital_status, r.spouse_in_norway,
    r.n_children_in_household, r.children_in_household,
    r.nus_level, r.enrolled_prev_year,
    cast({{ educ_b('r.nus_level') }} as {{ dbt.type_string() }})              as educ_b,
    cast({{ educ_c('r.nus_level') }} as {{ dbt.type_string() }})              as educ_c,
    r.wage_income, r.self_employment_income, r.earned_income, r.welfare_benefits, r.net_wealth,
    r.employed, r.self_employed, r.welfare_any, r.income_pct_all, r.income_pct_20_65,
    r.origin_b, r.in_study_b_population,
    cast({{ age_band_b('r.age') }} as {{ dbt.type_string() }})                as age_band_b,
    cast({{ dur_band_b('r.duration_years') }} as {{ dbt.type_string() }})     as dur_band_b,
    r.group5_c, r.is_descendant_c, r.origin_country_c, r.origin_group53, r.origin_group19,
    r.origin_group19_name, r.age_at_immigration_imputed,
    cast({{ period_c('r.year') }} as {{ dbt.type_string() }})                 as period_c,
    cast(r.resident_jan1 and r.age between {{ var('study_c_min_age') }} and {{ var('study_c_max_age') }}
         and r.year between {{ var('study_c_first_year') }} and {{ var('study_c_last_year') }} as boolean)
                                                                              as in_study_c,
    r.n_emigrations, r.emigrated, r.n_administrative_emigrations, r.emigration_type,
    r.dest_class_b, r.dest_cat7, r.destination_country, r.emigration_event_id,
    r.n_immigrations, r.multi_migrant, r.died,
    cast(coalesce(oc.has_sign_of_life, false) as boolean)                     as has_sign_of_life,
    oc.suspected_overcoverage,
    oc.overcoverage_provisional,
    r.provisional
from base as r
left join {{ ref('int_overcoverage') }} as oc on oc.person_id = r.person_id and oc.year = r.year
left join {{ ref('municipalities_2013') }} as m on m.municipality_code = r.municipality_2013
