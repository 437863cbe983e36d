// In-app navigation without a page load: the router in main.ts listens for this event.
export function navigate(path: string): void {
  history.pushState(null, '', path);
  window.dispatchEvent(new Event('retrack:navigate'));
}
