using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.OpenApi.Tests;

/// <summary>
/// What the silo really answers, success and refusal, fits the schema the document gives for that route and status:
/// the member names and JSON types a generated client expects are what the server writes.
/// </summary>
public sealed class ResponseSchemaTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RealAnswers_OfTheMainFlows_FitTheDocumentedSchemas()
    {
        var silo = fixture.Silo;
        var document = await OpenApiDocument.FetchAsync(silo, Cancel);
        var samples = new List<(string Method, string Route, HttpResponseMessage Response)>();
        using var anonymous = silo.CreateHttpClient();

        var (aliceDevice, registration) = TestAccounts.NewRegistration(oneTimeKeys: 2);
        samples.Add(("POST", "/v1/accounts/verification", await anonymous.PostAsJsonAsync("/v1/accounts/verification", new JsonObject { ["accountId"] = TestAccounts.NewAccountId() }, Cancel)));
        samples.Add(("POST", "/v1/accounts", await TestAccounts.PostRegistrationAsync(silo, anonymous, registration)));
        samples.Add(("POST", "/v1/accounts", await anonymous.PostAsJsonAsync("/v1/accounts", new JsonObject { ["accountId"] = "12" }, Cancel)));
        samples.Add(("GET", "/v1/devices", await anonymous.GetAsync(new Uri("/v1/devices", UriKind.Relative), Cancel)));
        var bob = await TestAccounts.RegisterAsync(silo, oneTimeKeys: 1);
        using var alice = aliceDevice.CreateClient(silo);
        using var bobClient = bob.CreateClient(silo);

        samples.Add(("GET", "/v1/devices", await alice.GetAsync(new Uri("/v1/devices", UriKind.Relative), Cancel)));
        samples.Add(("GET", "/v1/keys", await alice.GetAsync(new Uri("/v1/keys", UriKind.Relative), Cancel)));
        samples.Add(("GET", "/v1/keys/{accountId}/{deviceId}", await alice.GetAsync(new Uri($"/v1/keys/{Uri.EscapeDataString(bob.AccountId)}/*", UriKind.Relative), Cancel)));
        samples.Add(("GET", "/v1/accounts/{accountId}/devices", await alice.GetAsync(new Uri($"/v1/accounts/{Uri.EscapeDataString(bob.AccountId)}/devices", UriKind.Relative), Cancel)));
        samples.Add(("POST", "/v1/devices/link-token", await alice.PostAsync(new Uri("/v1/devices/link-token", UriKind.Relative), null, Cancel)));
        samples.Add(("PUT", "/v1/messages/{accountId}", await Messages.SendAsync(alice, bob.AccountId, Messages.Body([bob], "hello"), Cancel)));
        samples.Add(("PUT", "/v1/messages/{accountId}", await Messages.SendAsync(alice, bob.AccountId, Messages.Body([bob with { DeviceId = 7 }], "to nobody"), Cancel)));
        samples.Add(("GET", "/v1/messages", await bobClient.GetAsync(new Uri("/v1/messages", UriKind.Relative), Cancel)));
        samples.Add(("DELETE", "/v1/messages/{id}", await bobClient.DeleteAsync(new Uri("/v1/messages/not-a-uuid", UriKind.Relative), Cancel)));
        samples.Add(("POST", "/v1/groups", await alice.PostAsJsonAsync("/v1/groups", new JsonObject { ["members"] = new JsonArray(bob.AccountId) }, Cancel)));
        samples.Add(("GET", "/v1/groups", await bobClient.GetAsync(new Uri("/v1/groups", UriKind.Relative), Cancel)));
        samples.Add(("GET", "/v1/groups/{groupId}", await bobClient.GetAsync(new Uri("/v1/groups/" + new string('0', 32), UriKind.Relative), Cancel)));
        samples.Add(("GET", "/v1/push/subscriptions/{deviceId}", await alice.GetAsync(new Uri("/v1/push/subscriptions/1", UriKind.Relative), Cancel)));
        samples.Add(("GET", "/v1/appstate", await alice.GetAsync(new Uri("/v1/appstate", UriKind.Relative), Cancel)));
        samples.Add(("PUT", "/v1/keys", await alice.PutAsync(new Uri("/v1/keys", UriKind.Relative), new StringContent("{}"), Cancel)));

        var problems = new List<string>();
        var statuses = new HashSet<int>();
        foreach (var (method, route, response) in samples)
        {
            using (response)
            {
                var status = (int)response.StatusCode;
                statuses.Add(status);
                var name = $"{method} {route} {status}";
                var declared = document["paths"]?[route]?[method.ToLowerInvariant()]?["responses"]?[status.ToString(CultureInfo.InvariantCulture)];
                if (declared is null)
                {
                    problems.Add($"{name}: the silo answered a status the document does not list");
                    continue;
                }

                var body = await response.Content.ReadAsStringAsync(Cancel);
                var schema = declared["content"]?["application/json"]?["schema"];
                if (schema is null)
                {
                    if (body.Length > 0)
                    {
                        problems.Add($"{name}: a body the document does not describe: {body}");
                    }

                    continue;
                }

                problems.AddRange(SchemaCheck.Problems(document, schema, JsonNode.Parse(body), name));
            }
        }

        // The samples cover a success and refusals of several shapes; a silo that refused everything would not do.
        Assert.Superset(new HashSet<int> { 200, 201, 202, 400, 401, 404, 409, 415 }, statuses);
        Assert.True(problems.Count == 0, "answers that do not fit the OpenAPI document:\n" + string.Join('\n', problems));
    }
}
