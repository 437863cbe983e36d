-- Reconciliation: the stops visited in the facts are exactly the stops whose latest arrival
-- milestone on the timeline stands (an ARRIVED event not followed by its retraction), for every
-- shipment whose timeline is in the data. Returns the stops where the two disagree.
with timelines as (
  select distinct shipment_id from {{ ref('stg_shipment_events') }} where event_type = 'SHIPMENT_CREATED'
),
arrival_events as (
  select e.shipment_id, e.stop_sequence, e.event_type,
    row_number() over (partition by e.shipment_id, e.stop_sequence order by e.event_id desc) as latest
  from {{ ref('stg_shipment_events') }} e
  where e.event_type = 'ARRIVED' or (e.event_type = 'MILESTONE_RETRACTED' and e.event_key like 'RETRACTED:ARRIVED:%')
),
arrived as (
  select shipment_id || ':' || cast(stop_sequence as varchar) as stop_id
  from arrival_events
  where latest = 1 and event_type = 'ARRIVED'
),
visited as (
  select v.stop_id from {{ ref('fct_stop_visits') }} v join timelines t on t.shipment_id = v.shipment_id
)
select coalesce(a.stop_id, v.stop_id) as stop_id, a.stop_id is not null as in_timeline, v.stop_id is not null as in_facts
from arrived a
full outer join visited v on v.stop_id = a.stop_id
where a.stop_id is null or v.stop_id is null
