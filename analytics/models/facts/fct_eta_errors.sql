-- For each stop reached on a delivered shipment, each source (model, baseline) and horizon H: the
-- prediction a customer saw H before the real arrival (the latest one made at least H before it)
-- and its error (predicted − actual, positive: predicted late). domain/eta/accuracy.ts's rule.
with horizons as (
  select horizon_min from (values (30), (60), (120), (240)) as h (horizon_min)
),
delivered as (
  select shipment_id from {{ ref('fct_trips') }} where shipment_status = 'DELIVERED'
),
candidates as (
  select
    p.stop_id, p.tenant_id, p.shipment_id, p.stop_sequence, p.source, h.horizon_min,
    p.prediction_id, p.predicted_at, p.predicted_arrival, p.actual_arrival, p.lead_min, p.error_min,
    row_number() over (partition by p.stop_id, p.source, h.horizon_min order by p.predicted_at desc, p.prediction_id desc) as latest
  from {{ ref('stg_eta_predictions') }} p
  join delivered d on d.shipment_id = p.shipment_id
  join horizons h on p.lead_min >= h.horizon_min
  where p.actual_arrival is not null
)
select
  stop_id || ':' || source || ':' || cast(horizon_min as varchar) as eta_error_id,
  stop_id, tenant_id, shipment_id, stop_sequence, source, horizon_min,
  prediction_id, predicted_at, predicted_arrival, actual_arrival, lead_min, error_min,
  abs(error_min) as abs_error_min,
  abs(error_min) <= {{ var('eta_tolerance_min') }} as within_tolerance
from candidates
where latest = 1
