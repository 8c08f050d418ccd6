using System.Net;
using TrustServer.Server.Tests.Support;

namespace TrustServer.Server.Tests.Notary;

/// <summary>The Notary route table as gorilla/mux serves it (spec server-api.md §1, §12), on the real host.</summary>
public sealed class NotaryRoutesTests(SqliteServerFixture fixture) : IClassFixture<SqliteServerFixture>
{
    private const string NotFoundWithoutDetail =
        "{\"errors\":[{\"code\":\"METADATA_NOT_FOUND\",\"message\":\"You have requested metadata that does not exist.\"}]}\n";

    private const string NotFoundWithEmptyDetail =
        "{\"errors\":[{\"code\":\"METADATA_NOT_FOUND\",\"message\":\"You have requested metadata that does not exist.\",\"detail\":{}}]}\n";

    private HttpClient Http => fixture.Http;

    [Fact]
    public async Task Ping_AnswersAnEmptyObject() =>
        Assert.Equal("{}", await (await Http.GetAsync("/v2/")).Content.ReadAsStringAsync());

    [Theory]
    [InlineData("/nothing/here")]
    [InlineData("/v2/example.com/app/_trust/tuf/root.xml")]
    [InlineData("/v2/example.com/app/_trust/tuf/targets.abc.json")]
    [InlineData("/v2/example.com/app/_trust/tuf/witness.key")]
    public async Task UnknownUrl_Answers404WithoutDetail(string url) =>
        await AssertBodyAsync(await Http.GetAsync(url), HttpStatusCode.NotFound, NotFoundWithoutDetail);

    [Fact]
    public async Task UnknownRepository_Answers404WithEmptyDetail() =>
        await AssertBodyAsync(await Http.GetAsync("/v2/example.com/routes/never/_trust/tuf/root.json"), HttpStatusCode.NotFound, NotFoundWithEmptyDetail);

    [Fact]
    public async Task UncleanPath_IsRedirectedToTheCleanOne_WithTheQuery()
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = Http.BaseAddress };

        var response = await client.GetAsync("/v2//example.com/./app/_trust/changefeed?records=5");

        Assert.Equal(HttpStatusCode.MovedPermanently, response.StatusCode);
        Assert.Equal("/v2/example.com/app/_trust/changefeed?records=5", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task UnknownMethod_Answers405WithoutBody()
    {
        var response = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/v2/example.com/app/_trust/tuf/"));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task NotaryHealth_AnswersAnEmptyObject_AndItsSubpathsPlainText()
    {
        await AssertBodyAsync(await Http.GetAsync("/_notary_server/health"), HttpStatusCode.OK, "{}");
        var below = await Http.GetAsync("/_notary_server/health/more");
        Assert.Equal(HttpStatusCode.NotFound, below.StatusCode);
        Assert.Equal("404 page not found\n", await below.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task UploadThatIsNotMultipart_AnswersMalformedUpload() =>
        await NotaryHttp.AssertNotaryErrorAsync(
            await Http.PostAsync("/v2/example.com/routes/app/_trust/tuf/", new StringContent("{}")), HttpStatusCode.BadRequest, "MALFORMED_UPLOAD");

    [Theory]
    [InlineData("", "NO_FILENAME")]
    [InlineData("foo", "INVALID_ROLE")]
    [InlineData("targets/../root", "INVALID_ROLE")]
    public async Task UploadWithABadRoleName_AnswersItsError(string role, string code) =>
        await NotaryHttp.AssertNotaryErrorAsync(
            await Http.PostAsync("/v2/example.com/routes/app/_trust/tuf/", NotaryHttp.Upload((role, "{}"u8.ToArray()))), HttpStatusCode.BadRequest, code);

    [Fact]
    public async Task UploadWithBrokenJson_AnswersMalformedJson() =>
        await NotaryHttp.AssertNotaryErrorAsync(
            await Http.PostAsync("/v2/example.com/routes/app/_trust/tuf/", NotaryHttp.Upload(("targets", "{\"signed\":"u8.ToArray()))), HttpStatusCode.BadRequest, "MALFORMED_JSON");

    [Fact]
    public async Task TruncatedMultipartBody_AnswersMalformedUpload() =>
        await NotaryHttp.AssertNotaryErrorAsync(
            await Http.PostAsync("/v2/example.com/routes/app/_trust/tuf/", NotaryHttp.RawMultipart("--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"targets\"\r\n\r\n{\"sig", "b")),
            HttpStatusCode.BadRequest,
            "MALFORMED_UPLOAD");

    [Fact]
    public async Task GunWithAControlCharacter_IsRefusedOnUpdates_AndUnknownOnReads()
    {
        await NotaryHttp.AssertNotaryErrorAsync(
            await Http.PostAsync("/v2/example.com/a%01b/_trust/tuf/", NotaryHttp.Upload(("targets", "{}"u8.ToArray()))), HttpStatusCode.BadRequest, "INVALID_GUN");
        await AssertBodyAsync(await Http.GetAsync("/v2/example.com/a%01b/_trust/tuf/root.json"), HttpStatusCode.NotFound, NotFoundWithoutDetail);
    }

    private static async Task AssertBodyAsync(HttpResponseMessage response, HttpStatusCode status, string body)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(body, await response.Content.ReadAsStringAsync());
    }
}
