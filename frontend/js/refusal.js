// refusal is the server's reason for refusing a request of the console's
// scripts, which it gives in plain English as JSON {"error": …}, or the
// status if it gave none (what names the thing refused).
export async function refusal(res, what = "it") {
  const why = await res.json().then((j) => j && j.error, () => null);
  return why || `the server refused ${what} (${res.status})`;
}
