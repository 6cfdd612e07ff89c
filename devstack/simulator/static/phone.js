// A customer's phone, to try a bot in make dev: it writes to a linked business number through
// the simulator's control API (as WhatsApp would deliver it) and shows the chat, the bot's
// answers and files included. It never touches the page the worker drives.
const $ = (id) => document.getElementById(id);

async function call(path, options) {
  const response = await fetch(path, options);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

async function businesses() {
  const numbers = await call("/control/phones");
  const chosen = $("business").value;
  $("business").replaceChildren(...numbers.map((n) => new Option(n, n, false, n === chosen)));
  if (!numbers.length) $("problem").textContent = "No bot is linked yet: link one in the portal first.";
  else if ($("problem").textContent.startsWith("No bot")) $("problem").textContent = "";
}

async function show() {
  const business = $("business").value;
  if (!business) return;
  const query = new URLSearchParams({ with: $("customer").value });
  const chat = await call(`/control/phones/${encodeURIComponent(business)}/chat?${query}`);
  $("conversation").replaceChildren(...chat.map((m) => {
    const item = document.createElement("li");
    item.className = m.fromBusiness ? "from-business" : "from-customer";
    item.textContent = (m.filename ? `File: ${m.filename}\n` : "") + (m.text || "");
    return item;
  }));
}

$("write").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  try {
    await call(`/control/phones/${encodeURIComponent($("business").value)}/inbound`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ from: $("customer").value, text }),
    });
    $("text").value = "";
    $("problem").textContent = "";
    await show();
  } catch (error) { $("problem").textContent = `Not sent: ${error.message}`; }
});

async function tick() {
  try { await businesses(); await show(); } catch (error) { $("problem").textContent = error.message; }
}
tick();
setInterval(tick, 1000);
