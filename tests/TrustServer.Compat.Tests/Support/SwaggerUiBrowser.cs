using PuppeteerSharp;
using PuppeteerSharp.Input;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests.Support;

/// <summary>
/// Debian's Chromium (installed by scripts/test.sh; never a downloaded browser) driven through Swagger UI at
/// <c>/swagger</c> as a user clicks it: expand an operation, "Try it out", fill parameters, Execute, Authorize.
/// </summary>
public sealed class SwaggerUiBrowser : IAsyncDisposable
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly WaitForSelectorOptions Visible = new() { Visible = true, Timeout = 60_000 };

    private readonly TemporaryDirectory _profile;
    private readonly IBrowser _browser;

    private SwaggerUiBrowser(TemporaryDirectory profile, IBrowser browser, IPage page)
    {
        _profile = profile;
        _browser = browser;
        Page = page;
    }

    /// <summary>The Swagger UI page.</summary>
    public IPage Page { get; }

    /// <summary>Opens <c>{serverUrl}/swagger/index.html</c> and waits until the operations are rendered.</summary>
    public static async Task<SwaggerUiBrowser> OpenAsync(string serverUrl)
    {
        if (!File.Exists(Chromium))
        {
            throw new InvalidOperationException("chromium is not installed: `apt-get install -y chromium` (scripts/test.sh does it).");
        }

        var profile = new TemporaryDirectory("chromium-profile");
        var browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            UserDataDir = profile.Path,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            Timeout = 60_000,
        });
        var page = await browser.NewPageAsync();
        var ui = new SwaggerUiBrowser(profile, browser, page);
        await page.GoToAsync($"{serverUrl}/swagger/index.html");
        await page.WaitForSelectorAsync(".opblock-tag", Visible);
        return ui;
    }

    /// <summary>
    /// Expands the operation, clicks "Try it out", sets <paramref name="parameters"/> (others keep their example),
    /// executes and returns the status, the request URL Swagger UI shows and the response body.
    /// </summary>
    public async Task<(string Status, string RequestUrl, string Body)> TryItOutAsync(string tag, string operationId, IReadOnlyDictionary<string, string> parameters)
    {
        var operation = $"#operations-{tag}-{operationId}";
        await Page.ClickAsync($"{operation} .opblock-summary");
        await Page.WaitForSelectorAsync($"{operation} .try-out__btn", Visible);

        // An operation tried before stays in "Try it out" with its last response: clear that instead.
        if (await Page.QuerySelectorAsync($"{operation} .btn.execute") is null)
        {
            await Page.ClickAsync($"{operation} .try-out__btn");
        }
        else if (await Page.QuerySelectorAsync($"{operation} .btn-clear") is { } clear)
        {
            await clear.ClickAsync();
            await Page.WaitForSelectorAsync($"{operation} .live-responses-table", new WaitForSelectorOptions { Hidden = true, Timeout = 60_000 });
        }

        foreach (var (name, value) in parameters)
        {
            await ReplaceTextAsync($"{operation} tr[data-param-name=\"{name}\"] input", value);
        }

        await Page.ClickAsync($"{operation} .btn.execute");
        await Page.WaitForSelectorAsync($"{operation} .live-responses-table tbody .response-col_status", Visible);
        var status = await TextAsync($"{operation} .live-responses-table tbody .response-col_status");
        var url = await TextAsync($"{operation} .request-url pre");
        var body = await Page.EvaluateFunctionAsync<string>(
            "selector => document.querySelector(selector)?.innerText ?? ''", $"{operation} .live-responses-table tbody .response-col_description pre");
        await Page.ClickAsync($"{operation} .opblock-summary");
        return (status.Trim(), url.Trim(), body);
    }

    /// <summary>
    /// Swagger UI's Authorize dialog (one form per scheme): fills the inputs by name in the scheme's form, authorizes
    /// it (its button turns into Logout) and closes the dialog.
    /// </summary>
    public async Task AuthorizeAsync(IReadOnlyDictionary<string, string> inputs)
    {
        const string scheme = ".modal-ux .auth-container[data-test-scheme]";
        await Page.ClickAsync(".auth-wrapper .btn.authorize");
        await Page.WaitForSelectorAsync(".modal-ux", Visible);
        var first = Input(".modal-ux", inputs.Keys.First());
        try
        {
            await Page.WaitForSelectorAsync(first, Visible);
        }
        catch (WaitTaskTimeoutException e)
        {
            var dialog = await Page.EvaluateExpressionAsync<string>("document.querySelector('.modal-ux')?.outerHTML ?? '(no dialog)'");
            throw new InvalidOperationException($"{first} not in the Authorize dialog: {dialog}", e);
        }

        await Page.EvaluateFunctionAsync("selector => document.querySelector(selector).closest('.auth-container').setAttribute('data-test-scheme', '')", first);
        foreach (var (name, value) in inputs)
        {
            await ReplaceTextAsync(Input(scheme, name), value);
        }

        await Page.ClickAsync($"{scheme} button.authorize");
        await Page.WaitForSelectorAsync($"{scheme} button[aria-label=\"Remove authorization\"]", Visible);
        await Page.ClickAsync(".modal-ux .btn-done");
    }

    // An input of the dialog by its name or aria-label (Swagger UI labels the bearer input auth-bearer-value).
    private static string Input(string scope, string key) => $"{scope} input[name=\"{key}\"], {scope} input[aria-label=\"{key}\"]";

    private async Task ReplaceTextAsync(string selector, string value)
    {
        await Page.WaitForSelectorAsync(selector, Visible);
        await Page.ClickAsync(selector, new ClickOptions { Count = 3 });
        await Page.Keyboard.DownAsync("Control");
        await Page.Keyboard.PressAsync("a");
        await Page.Keyboard.UpAsync("Control");
        await Page.Keyboard.PressAsync("Backspace");
        await Page.TypeAsync(selector, value);
    }

    private Task<string> TextAsync(string selector) =>
        Page.EvaluateFunctionAsync<string>("selector => document.querySelector(selector)?.innerText ?? ''", selector);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _browser.CloseAsync();
        await _browser.DisposeAsync();
        _profile.Dispose();
    }
}
