-- One row per shipment: its lane (first stop's facility to the last's), when it left the origin
-- and reached the destination, and the transit time in between.
with stops as (
  select * from {{ ref('stg_stop_visits') }}
)
select
  shipment_id,
  max(tenant_id) as tenant_id,
  max(reference) as reference,
  max(shipment_status) as shipment_status,
  max(carrier_id) as carrier_id,
  max(carrier_name) as carrier_name,
  max(stop_count) as stop_count,
  sum(case when arrived_at is not null then 1 else 0 end) as visited_stops,
  max(case when stop_sequence = 1 then facility end) as origin,
  max(case when stop_sequence = stop_count then facility end) as destination,
  max(case when stop_sequence = 1 then facility end) || ' > ' || max(case when stop_sequence = stop_count then facility end) as lane,
  max(case when stop_sequence = 1 then departed_at end) as departed_origin_at,
  max(case when stop_sequence = stop_count then arrived_at end) as arrived_destination_at,
  {{ dbt.datediff('max(case when stop_sequence = 1 then departed_at end)', 'max(case when stop_sequence = stop_count then arrived_at end)', 'second') }} / 60.0 as transit_min
from stops
group by shipment_id
