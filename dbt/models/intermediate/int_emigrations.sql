-- One row per registered emigration (direction = out), enriched with everything the three
-- studies classify events by. Event year = calendar year of the registered emigration date
-- (for administrative emigrations: the decision date, study A §2.3); backdated_year = the year
-- after the last sign of life before the event (study A §7 sensitivity), never later than the
-- registered year.
with e as (
    select * from {{ ref('stg_migration_events') }} where direction = 'out'
),
p as (select * from {{ ref('int_person_attributes') }}),
imm as (
    select person_id, event_year, event_date from {{ ref('stg_migration_events') }} where direction = 'in'
),
sol as (select * from {{ ref('int_signs_of_life') }}),
last_sol as (
    select e.event_id, max(sol.year) as last_sign_of_life_year
    from e inner join sol on sol.person_id = e.person_id and sol.year < e.event_year
    group by e.event_id
),
same_year_imm as (
    select e.event_id,
           count(*) as n_immigrations_same_year,
           sum(case when imm.event_date >= e.event_date then 1 else 0 end) as n_returns_same_year
    from e inner join imm on imm.person_id = e.person_id and imm.event_year = e.event_year
    group by e.event_id
),
st as (
    select person_id, year, is_resident, municipality_2013, citizenship
    from {{ ref('stg_population_status') }}
),
numbered as (
    select e.*,
           row_number() over (partition by e.person_id
                              order by e.event_date asc nulls last, e.event_id asc nulls last) as emigration_number
    from e
)
select
    n.event_id,
    n.person_id,
    n.event_date,
    n.event_year,
    n.registration_date,
    n.registration_year,
    cast(n.registration_year - n.event_year as {{ dbt.type_int() }})        as registration_lag_years,
    n.registration_type,
    n.is_administrative,
    cast(ls.last_sign_of_life_year as {{ dbt.type_int() }})                as last_sign_of_life_year,
    cast(case when n.is_administrative
              then least(n.event_year, coalesce(ls.last_sign_of_life_year + 1, n.event_year))
              else n.event_year end as {{ dbt.type_int() }})              as backdated_year,
    cast(n.emigration_number as {{ dbt.type_int() }})                       as emigration_number,
    cast(n.emigration_number = 1 as boolean)                                as is_first_emigration,
    -- study A §2.4: at least one immigration and one emigration of the person in the same calendar year
    cast(coalesce(sy.n_immigrations_same_year, 0) > 0 as boolean)           as multi_migrant,
    cast(coalesce(sy.n_returns_same_year, 0) > 0 as boolean)                as returned_same_year,
    -- destination
    n.country                                                               as destination_country,
    cast({{ country_unknown('n.country') }} as boolean)                    as destination_unknown,
    -- study B §2.1/§4.1: return = to the country of birth, onward = any other known country
    cast(case when {{ country_unknown('n.country') }} then 'unknown'
              when n.country = p.birth_country then 'return'
              else 'onward' end as {{ dbt.type_string() }})                 as dest_class_b,
    -- study C §2.7, §3.3: origin match on the 53 groups, seven destination categories
    cast(dc.group53_code as {{ dbt.type_string() }})                        as dest_group53,
    cast(dc.group19_code as {{ dbt.type_string() }})                        as dest_group19,
    cast(not {{ country_unknown('n.country') }}
         and cast(dc.group53_code as {{ dbt.type_string() }}) = p.origin_group53 as boolean) as to_origin_c,
    cast(case when {{ country_unknown('n.country') }} then 'UNKNOWN'
              when cast(dc.group53_code as {{ dbt.type_string() }}) = p.origin_group53 then 'ORIGIN'
              else coalesce(dc.dest_cat, 'OTHER') end as {{ dbt.type_string() }}) as dest_cat7,
    cast(case when {{ country_unknown('n.country') }} then 'UNKNOWN'
              when cast(dc.group53_code as {{ dbt.type_string() }}) = p.origin_group53 then 'ORIGIN'
              else 'OTHER_KNOWN' end as {{ dbt.type_string() }})            as dest_type3,
    -- person attributes
    p.sex, p.birth_year, p.birth_country, p.is_immigrant, p.country_group_a, p.group5_c,
    p.is_descendant_c, p.origin_country_c, p.origin_group53, p.origin_group19, p.origin_b,
    p.first_immigration_date, p.first_immigration_year, p.in_study_b_population,
    -- ages: 31 Dec convention (= event year - birth year) and completed years at the event
    cast(n.event_year - p.birth_year as {{ dbt.type_int() }})               as age,
    cast(n.event_year - p.birth_year
         - case when n.event_month < p.birth_month then 1 else 0 end as {{ dbt.type_int() }}) as age_at_event,
    -- duration of residence from the FIRST immigration: completed years at the event, and years
    cast(case when p.first_immigration_date is not null then
              n.event_year - p.first_immigration_year
              - case when n.event_month < p.first_immigration_month then 1 else 0 end end
         as {{ dbt.type_int() }})                                           as botid_at_event,
    cast(n.event_year - p.first_immigration_year as {{ dbt.type_int() }})  as duration_years,
    cast(p.immigrated_before_data as boolean)                               as immigrated_before_data,
    -- residence and last municipality before the emigration (2013 borders)
    cast(coalesce(stj.is_resident, false) as boolean)                       as resident_jan1,
    cast(coalesce(n.municipality_2013, stj.municipality_2013) as {{ dbt.type_string() }}) as municipality_2013,
    stj.citizenship                                                         as citizenship_jan1
from numbered as n
left join p on p.person_id = n.person_id
left join last_sol as ls on ls.event_id = n.event_id
left join same_year_imm as sy on sy.event_id = n.event_id
left join {{ ref('countries') }} as dc on dc.country_code = n.country
left join st as stj on stj.person_id = n.person_id and stj.year = n.event_year
