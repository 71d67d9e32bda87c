using Cluster.Silo.Protocol;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.OpenApi;

namespace Cluster.Silo.OpenApi;

/// <summary>
/// The OpenAPI document served at <c>/openapi/v1.json</c> (ASP.NET Core's built-in generator) and the small
/// annotations each feature's <c>MapX</c> puts on its endpoints: <see cref="Operation"/> (id, summary, tag),
/// <see cref="Accepts{TRequest}"/> (the JSON body, needed because handlers read it themselves through
/// <see cref="JsonBody"/>), <see cref="Returns{TResponse}"/> / <see cref="ReturnsNothing"/> and <see cref="Errors"/>
/// (each refusal status with the <see cref="ApiError"/> body). The transformers below add the security scheme, the
/// 401 of every authenticated endpoint and the 429 of every rate-limited one, so a feature never repeats those.
/// </summary>
public static class OpenApiExtensions
{
    /// <summary>The name of the security scheme in the document (HTTP Basic <c>accountId.deviceId:password</c>).</summary>
    public const string SecurityScheme = "device";

    public const string DocumentPath = "/openapi/v1.json";

    public static WebApplicationBuilder AddClusterOpenApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenApi("v1", options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Cluster messaging API",
                    Version = "v1",
                    Description = "End-to-end encrypted multi-device messaging. The contract in prose is docs/protocol.md; "
                        + "the WebSockets (/v1/websocket, /v1/provisioning) are described there, not here.",
                };
                document.Servers?.Clear();
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[SecurityScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "basic",
                    Description = "HTTP Basic with the user name accountId.deviceId (e.g. +15551234567.1) and the device's password.",
                };
                return Task.CompletedTask;
            });
            options.AddOperationTransformer(async (operation, context, cancellationToken) =>
            {
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                operation.Responses ??= new OpenApiResponses();
                if (metadata.OfType<IAuthorizeData>().Any())
                {
                    operation.Security ??= [];
                    operation.Security.Add(new OpenApiSecurityRequirement
                    {
                        [new OpenApiSecuritySchemeReference(SecurityScheme, context.Document)] = [],
                    });
                    await AddErrorAsync(operation, context, StatusCodes.Status401Unauthorized, "No or wrong credentials.", cancellationToken);
                }

                if (metadata.OfType<EnableRateLimitingAttribute>().Any())
                {
                    await AddErrorAsync(operation, context, StatusCodes.Status429TooManyRequests, "Rate limited; the answer carries Retry-After.", cancellationToken);
                }
            });
        });
        return builder;
    }

    /// <summary>Serves the document at <see cref="DocumentPath"/>.</summary>
    public static WebApplication MapClusterOpenApi(this WebApplication app)
    {
        app.MapOpenApi("/openapi/{documentName}.json");
        return app;
    }

    /// <summary>Names the operation (its <c>operationId</c>, which client generators turn into a method name), sums it up and tags it with its feature.</summary>
    public static RouteHandlerBuilder Operation(this RouteHandlerBuilder builder, string operationId, string tag, string summary) =>
        builder.WithName(operationId).WithTags(tag).WithSummary(summary);

    /// <summary>The JSON request body the handler reads.</summary>
    public static RouteHandlerBuilder Accepts<TRequest>(this RouteHandlerBuilder builder) where TRequest : notnull =>
        builder.Accepts<TRequest>("application/json");

    /// <summary>The JSON answer on success.</summary>
    public static RouteHandlerBuilder Returns<TResponse>(this RouteHandlerBuilder builder, int status = StatusCodes.Status200OK) =>
        builder.Produces<TResponse>(status, "application/json");

    /// <summary>An answer without a body on success (204 unless told).</summary>
    public static RouteHandlerBuilder ReturnsNothing(this RouteHandlerBuilder builder, int status = StatusCodes.Status204NoContent) =>
        builder.Produces(status);

    /// <summary>Each refusal status the handler answers, all with the <see cref="ApiError"/> body.</summary>
    public static RouteHandlerBuilder Errors(this RouteHandlerBuilder builder, params int[] statuses)
    {
        foreach (var status in statuses)
        {
            builder.Produces<ApiError>(status, "application/json");
        }

        return builder;
    }

    private static async Task AddErrorAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, int status, string description, CancellationToken cancellationToken)
    {
        var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (operation.Responses!.ContainsKey(key))
        {
            return;
        }

        var schema = await context.GetOrCreateSchemaAsync(typeof(ApiError), cancellationToken: cancellationToken);
        operation.Responses[key] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/json"] = new() { Schema = schema },
            },
        };
    }
}
