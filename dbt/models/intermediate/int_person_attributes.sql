-- One row per person: fixed attributes, immigration history and the person-level classifications
-- of the three studies.
--   study A: immigrant (SSB category B), country background = country of birth, else citizenship,
--            else group 3 (flagged) (§2.2 [ASSUMPTION]); country group 1/2/3 (Table A1).
--   study B: origin region of the country of birth; sample membership (first immigration for work,
--            or a Nordic citizen at immigration; adult at arrival) (§2.1, §4.1).
--   study C: population groups G1-G5 with the grandparents rule, origin country with the
--            mother's-origin rule, origin group 53/19 (§2.5, §2.7).
{%- set parent_rule = var('study_c_unknown_parent_rule') %}
{%- if parent_rule not in ['immigrant_category', 'norway'] %}
{{ exceptions.raise_compiler_error("var study_c_unknown_parent_rule must be 'immigrant_category' or 'norway'") }}
{%- endif %}
{%- set g4_min_age = var('study_c_child_immigration_max_age') + 1 %}
with cov as (select * from {{ ref('int_register_coverage') }}),
p as (select * from {{ ref('stg_persons') }}),
first_status as (
    -- earliest snapshot per person (first delivered year in which the person appears)
    select person_id, min(year) as first_status_year,
           min(case when is_resident then year end) as first_resident_year
    from {{ ref('stg_population_status') }}
    group by person_id
),
latest_cit as (
    select person_id, citizenship from (
        select person_id, citizenship,
               row_number() over (partition by person_id order by year desc nulls last) as rn
        from {{ ref('stg_population_status') }}
        where not {{ country_unknown('citizenship') }}
    ) as x where rn = 1
),
imm_raw as (select * from {{ ref('int_immigration_history') }}),
first_resident as (
    select person_id, min(year) as fry from {{ ref('stg_population_status') }}
    where is_resident group by person_id
),
imm as (
    -- the first immigration in the deliveries is the person's first immigration only if the person
    -- was not already resident on an earlier 1 January (else it is a re-immigration and the first
    -- one predates the deliveries: unknown)
    select i.*
    from imm_raw as i
    left join first_resident as r on r.person_id = i.person_id
    where r.fry is null or i.first_immigration_year < r.fry
),
cit_at_imm as (
    -- citizenship on the first 1 January after the first immigration
    select s.person_id, s.citizenship
    from {{ ref('stg_population_status') }} as s
    inner join imm on imm.person_id = s.person_id and s.year = imm.first_immigration_year + 1
),
base as (
    select
        p.*,
        cast(p.birth_country <> 'NOR' as boolean) as foreign_born,
        -- parent born abroad. An unknown parent's country counts as abroad for the foreign-born
        -- [ASSUMPTION, SSB practice for immigrants]. For the Norwegian-born it follows the
        -- delivered immigrant category under rule 'immigrant_category' (C: both parents abroad;
        -- E: the unknown parent is the foreign-born one when the known one is Norway-born, the
        -- mother when both are unknown; A: Norway), or counts as Norway under rule 'norway'
        -- (var study_c_unknown_parent_rule; study C §2.5). Both are kept so the diagnostic can
        -- count the persons whose group depends on the rule.
        {%- for rule in ['immigrant_category', 'norway'] %}
        {#- (parent, other parent, the parent's answer under E when both are unknown) #}
        {%- for parent, other, both_unknown in [('mother', 'father', 'true'), ('father', 'mother', 'false')] %}
        cast(case
            when p.{{ parent }}_birth_country is not null then p.{{ parent }}_birth_country <> 'NOR'
            when p.birth_country <> 'NOR' then true
            {%- if rule == 'immigrant_category' %}
            when p.immigrant_category = 'C' then true
            when p.immigrant_category = 'E' then coalesce(p.{{ other }}_birth_country = 'NOR', {{ both_unknown }})
            {%- endif %}
            else false end as boolean) as {{ parent }}_foreign_born_{{ rule }},
        {%- endfor %}
        {%- endfor %}
        -- first_immigration_date comes with p.* (the delivered date); a second column of that name is ambiguous on Spark
        imm.first_immigration_year, imm.first_immigration_month,
        imm.first_immigration_reason, imm.first_immigration_country, imm.n_immigrations,
        imm.age_at_first_immigration,
        coalesce(ir.n_immigrations, 0) as n_immigrations_delivered,
        fs.first_status_year, fs.first_resident_year,
        lc.citizenship as latest_citizenship,
        ci.citizenship as citizenship_at_immigration
    from p
    left join imm on imm.person_id = p.person_id
    left join imm_raw as ir on ir.person_id = p.person_id
    left join first_status as fs on fs.person_id = p.person_id
    left join latest_cit as lc on lc.person_id = p.person_id
    left join cit_at_imm as ci on ci.person_id = p.person_id
),
ruled as (
    -- the parent rule in force
    select b.*, b.mother_foreign_born_{{ parent_rule }} as mother_foreign_born,
           b.father_foreign_born_{{ parent_rule }} as father_foreign_born
    from base as b
),
classified as (
    select
        b.*,
        cast(b.immigrant_category = 'B' as boolean) as is_immigrant,
        -- first immigration before the first delivered register year (not in the deliveries)
        cast(b.foreign_born and b.first_immigration_year is null
             and b.first_resident_year = cov.first_register_year as boolean) as immigrated_before_data,
        cast(b.first_immigration_year is null and b.n_immigrations_delivered > 0 as boolean)
                                                                        as first_immigration_unknown,
        -- age at immigration: known, or bounded when the immigration predates the deliveries
        -- an age below 0 (first immigration in the birth year before the birth month: the
        -- month-level age is one too low) is 0; null = unknown (counted apart, group GX)
        case
            when b.age_at_first_immigration is not null
                then case when b.age_at_first_immigration < 0 then 0 else b.age_at_first_immigration end
            when b.foreign_born and b.first_immigration_year is null
                 and b.first_resident_year = cov.first_register_year
                 and cov.first_register_year - 1 - b.birth_year <= {{ var('study_c_child_immigration_max_age') }}
                then cov.first_register_year - 1 - b.birth_year      -- upper bound, still a child
        end as age_at_immigration_for_groups,
        -- study A country background
        case when not {{ country_unknown('b.birth_country') }} then b.birth_country
             when b.latest_citizenship is not null then b.latest_citizenship
        end as country_background,
        -- study C origin country (§2.7): own birth country for the foreign-born with two
        -- foreign-born parents; the mother's (else father's) country for the Norwegian-born
        case
            when b.birth_country <> 'NOR' and b.mother_foreign_born and b.father_foreign_born
                then b.birth_country
            when b.birth_country = 'NOR' and b.mother_foreign_born and b.father_foreign_born
                then coalesce(nullif(b.mother_birth_country, 'NOR'), nullif(b.father_birth_country, 'NOR'))
            when b.birth_country = 'NOR' and b.mother_foreign_born then b.mother_birth_country
            when b.birth_country = 'NOR' and b.father_foreign_born then b.father_birth_country
            when b.birth_country <> 'NOR' then b.birth_country
            else 'NOR'
        end as origin_country_c
    from ruled as b
    cross join cov
),
grouped as (
    -- study C population groups (§2.5), under both parent rules; GX = born abroad to two
    -- foreign-born parents with four foreign-born grandparents but an unknown age at immigration
    -- (neither G2 nor G4: counted apart and reported, not in G1-G5)
    select
        c.*,
        {%- for rule in ['immigrant_category', 'norway'] %}
        {%- set m = 'c.mother_foreign_born_' ~ rule %}{% set f = 'c.father_foreign_born_' ~ rule %}
        case
            when c.birth_country = 'NOR' and {{ m }} and {{ f }}
                 and c.n_foreign_born_grandparents = 4 then 'G1'
            when c.birth_country <> 'NOR' and {{ m }} and {{ f }}
                 and c.n_foreign_born_grandparents = 4
                 and c.age_at_immigration_for_groups between 0 and {{ var('study_c_child_immigration_max_age') }}
                then 'G2'
            when c.birth_country <> 'NOR' and {{ m }} and {{ f }}
                 and c.n_foreign_born_grandparents = 4
                 and c.age_at_immigration_for_groups >= {{ g4_min_age }} then 'G4'
            when c.birth_country <> 'NOR' and {{ m }} and {{ f }}
                 and c.n_foreign_born_grandparents = 4 then '{{ var("study_c_group_unknown") }}'
            when c.birth_country = 'NOR'
                 and (({{ m }} and not {{ f }}) or ({{ f }} and not {{ m }}))
                 and c.n_foreign_born_grandparents >= 2 then 'G3'
            else 'G5'
        end as group5_c_{{ rule }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from classified as c
),
grouped_final as (
    select g.*, g.group5_c_{{ parent_rule }} as group5_c from grouped as g
)
select
    g.person_id, g.sex, g.birth_year, g.birth_month, g.birth_country,
    g.mother_id, g.father_id, g.mother_birth_country, g.father_birth_country,
    g.n_foreign_born_grandparents, g.immigrant_category, g.death_date, g.death_year,
    g.foreign_born, g.mother_foreign_born, g.father_foreign_born, g.is_immigrant,
    g.first_immigration_date, g.first_immigration_year, g.first_immigration_month,
    g.first_immigration_reason, g.first_immigration_country,
    cast(g.n_immigrations_delivered as {{ dbt.type_int() }}) as n_immigrations,
    g.first_immigration_unknown,
    g.age_at_first_immigration, g.immigrated_before_data,
    g.first_status_year, g.first_resident_year, g.latest_citizenship, g.citizenship_at_immigration,
    -- study A
    g.country_background,
    cast(coalesce(ca.study_a_group, 3) as {{ dbt.type_int() }}) as country_group_a,
    cast(ca.study_a_group is null as boolean)                    as country_group_a_imputed,
    -- study B
    cast(coalesce(cb.study_b_origin, 'non_europe') as {{ dbt.type_string() }}) as origin_b,
    cast(g.is_immigrant
         and (g.first_immigration_reason in ({{ quoted_list(var('study_b_immigration_reasons')) }})
              {% if var('study_b_include_nordic_citizens') %}
              or g.first_immigration_reason = 'nordic'
              or coalesce(cn.is_nordic and cn.country_code <> 'NOR', false)  -- Norway is no Nordic origin
              {% endif %})
         and g.age_at_first_immigration >= {{ var('study_b_adult_arrival_age') }}
         as boolean)                                              as in_study_b_population,
    -- study C
    g.group5_c,
    cast(g.group5_c in ('G1', 'G2') as boolean)                   as is_descendant_c,
    -- the group under the other unknown-parent rule (§2.5 diagnostic)
    cast(g.group5_c_{{ 'norway' if parent_rule == 'immigrant_category' else 'immigrant_category' }}
         as {{ dbt.type_string() }})                              as group5_c_other_parent_rule,
    cast(g.birth_country = 'NOR' and (g.mother_birth_country is null or g.father_birth_country is null)
         as boolean)                                              as norway_born_parent_unknown,
    cast(g.age_at_first_immigration < 0 as boolean)               as age_at_immigration_negative,
    cast(g.origin_country_c as {{ dbt.type_string() }})          as origin_country_c,
    cast(co.group53_code as {{ dbt.type_string() }})             as origin_group53,
    cast(co.group19_code as {{ dbt.type_string() }})             as origin_group19,
    cast(co.group19_name as {{ dbt.type_string() }})             as origin_group19_name,
    cast(g.age_at_first_immigration is null and g.group5_c in ('G2', 'G4') as boolean)
                                                                  as age_at_immigration_imputed
from grouped_final as g
left join {{ ref('countries') }} as ca on ca.country_code = g.country_background
left join {{ ref('countries') }} as cb on cb.country_code = g.birth_country
left join {{ ref('countries') }} as cn on cn.country_code = g.citizenship_at_immigration
left join {{ ref('countries') }} as co on co.country_code = g.origin_country_c
