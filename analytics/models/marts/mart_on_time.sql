-- On-time performance of stop visits that had an appointment window, by carrier, lane, facility
-- and arrival week: one row per dimension value (`dimension` says which).
with visits as (
  select * from {{ ref('fct_stop_visits') }} where on_time is not null
),
by_dimension as (
  select 'carrier' as dimension, carrier_name as dimension_value, on_time, lateness_min from visits
  union all
  select 'lane', lane, on_time, lateness_min from visits
  union all
  select 'facility', facility, on_time, lateness_min from visits
  union all
  select 'week', cast(arrival_week as varchar), on_time, lateness_min from visits
  union all
  select 'all', 'all', on_time, lateness_min from visits
)
select
  dimension,
  dimension_value,
  count(*) as visits,
  sum(case when on_time then 1 else 0 end) as on_time_visits,
  sum(case when on_time then 1 else 0 end) * 1.0 / count(*) as on_time_share,
  avg(case when not on_time then lateness_min end) as mean_lateness_min
from by_dimension
group by dimension, dimension_value
