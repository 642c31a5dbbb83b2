export function Logo() {
  return (
    <svg class="logo" viewBox="0 0 64 64" width="28" height="28" aria-hidden="true">
      <defs>
        <linearGradient id="logo-g" x1="0" y1="0" x2="1" y2="1">
          <stop offset="0" stop-color="#7c5cff" />
          <stop offset="1" stop-color="#20d3b0" />
        </linearGradient>
      </defs>
      <circle cx="32" cy="32" r="17" fill="none" stroke="url(#logo-g)" stroke-width="8" />
      <circle cx="46" cy="18" r="6" fill="#20d3b0" />
    </svg>
  )
}
