import { Browser, startServer } from "./browser_utils.ts";
const server = startServer();
const browser = await Browser.launch();
const page = await browser.newPage();
const [w, hgt] = (Deno.args[0] ?? "1280x800").split("x").map(Number);
await page.setViewport(w!, hgt!);
await page.goto(`${server.origin}/client`);
await page.fill("#protocols", Deno.args[1] ?? "");
await page.click("#connect");
await page.waitFor(`document.querySelector("#state").dataset.state === "open"`, "open");
for (let i = 0; i < 10; i++) {
  await page.fill("#message", JSON.stringify({ type: "echo", id: i, data: "x" + i }));
  await page.press("Enter");
}
await new Promise((r) => setTimeout(r, 500));
if (Deno.args[2]) await page.click(Deno.args[2]);
await page.screenshot(new URL(`file:///tmp/shots/${Deno.args[3] ?? "a"}.png`));
console.log(JSON.stringify({ errors: page.errors, csp: await page.cspViolations(), scroll: await page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight, innerWidth, innerHeight]") }));
await browser.close();
await server.stop();
