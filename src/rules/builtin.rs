//! The built-in rule files, compiled in. Every file in `data/` must be listed here (a test
//! checks), and its stem is the provider id.

/// (provider id, TOML text) for each built-in rule file.
pub const FILES: &[(&str, &str)] = &[
    ("adafruit", include_str!("data/adafruit.toml")),
    ("age", include_str!("data/age.toml")),
    ("anthropic", include_str!("data/anthropic.toml")),
    ("apify", include_str!("data/apify.toml")),
    ("atlassian", include_str!("data/atlassian.toml")),
    ("aws", include_str!("data/aws.toml")),
    ("azure_ai", include_str!("data/azure_ai.toml")),
    ("azure_apim", include_str!("data/azure_apim.toml")),
    ("azure_batch", include_str!("data/azure_batch.toml")),
    ("azure_cask", include_str!("data/azure_cask.toml")),
    (
        "azure_container_registry",
        include_str!("data/azure_container_registry.toml"),
    ),
    ("azure_cosmos", include_str!("data/azure_cosmos.toml")),
    ("azure_devops", include_str!("data/azure_devops.toml")),
    (
        "azure_event_grid",
        include_str!("data/azure_event_grid.toml"),
    ),
    ("azure_functions", include_str!("data/azure_functions.toml")),
    ("azure_iot", include_str!("data/azure_iot.toml")),
    ("azure_messaging", include_str!("data/azure_messaging.toml")),
    ("azure_ml", include_str!("data/azure_ml.toml")),
    ("azure_redis", include_str!("data/azure_redis.toml")),
    ("azure_search", include_str!("data/azure_search.toml")),
    ("azure_storage", include_str!("data/azure_storage.toml")),
    ("bitbucket", include_str!("data/bitbucket.toml")),
    ("buildkite", include_str!("data/buildkite.toml")),
    ("cerebras", include_str!("data/cerebras.toml")),
    ("circleci", include_str!("data/circleci.toml")),
    ("clojars", include_str!("data/clojars.toml")),
    ("cloudflare", include_str!("data/cloudflare.toml")),
    ("contentful", include_str!("data/contentful.toml")),
    ("crates_io", include_str!("data/crates_io.toml")),
    ("databricks", include_str!("data/databricks.toml")),
    (
        "definednetworking",
        include_str!("data/definednetworking.toml"),
    ),
    ("deno", include_str!("data/deno.toml")),
    ("digitalocean", include_str!("data/digitalocean.toml")),
    ("discord", include_str!("data/discord.toml")),
    ("docker", include_str!("data/docker.toml")),
    ("doppler", include_str!("data/doppler.toml")),
    ("duffel", include_str!("data/duffel.toml")),
    ("dynatrace", include_str!("data/dynatrace.toml")),
    ("easypost", include_str!("data/easypost.toml")),
    ("entra", include_str!("data/entra.toml")),
    ("figma", include_str!("data/figma.toml")),
    ("flutterwave", include_str!("data/flutterwave.toml")),
    ("flyio", include_str!("data/flyio.toml")),
    ("frameio", include_str!("data/frameio.toml")),
    ("github", include_str!("data/github.toml")),
    ("gitlab", include_str!("data/gitlab.toml")),
    ("google", include_str!("data/google.toml")),
    ("grafana", include_str!("data/grafana.toml")),
    ("groq", include_str!("data/groq.toml")),
    ("harness", include_str!("data/harness.toml")),
    ("hashicorp_vault", include_str!("data/hashicorp_vault.toml")),
    ("heroku", include_str!("data/heroku.toml")),
    ("huggingface", include_str!("data/huggingface.toml")),
    ("infracost", include_str!("data/infracost.toml")),
    ("jfrog", include_str!("data/jfrog.toml")),
    ("langsmith", include_str!("data/langsmith.toml")),
    ("linear", include_str!("data/linear.toml")),
    ("mapbox", include_str!("data/mapbox.toml")),
    ("neon", include_str!("data/neon.toml")),
    ("newrelic", include_str!("data/newrelic.toml")),
    ("notion", include_str!("data/notion.toml")),
    ("npm", include_str!("data/npm.toml")),
    ("nuget", include_str!("data/nuget.toml")),
    ("nvidia", include_str!("data/nvidia.toml")),
    ("onepassword", include_str!("data/onepassword.toml")),
    ("openai", include_str!("data/openai.toml")),
    ("openrouter", include_str!("data/openrouter.toml")),
    ("openshift", include_str!("data/openshift.toml")),
    ("perplexity", include_str!("data/perplexity.toml")),
    ("pinecone", include_str!("data/pinecone.toml")),
    ("planetscale", include_str!("data/planetscale.toml")),
    ("postman", include_str!("data/postman.toml")),
    ("prefect", include_str!("data/prefect.toml")),
    ("private_key", include_str!("data/private_key.toml")),
    ("pulumi", include_str!("data/pulumi.toml")),
    ("pypi", include_str!("data/pypi.toml")),
    ("readme", include_str!("data/readme.toml")),
    ("render", include_str!("data/render.toml")),
    ("replicate", include_str!("data/replicate.toml")),
    ("rootly", include_str!("data/rootly.toml")),
    ("rubygems", include_str!("data/rubygems.toml")),
    ("runpod", include_str!("data/runpod.toml")),
    ("scalingo", include_str!("data/scalingo.toml")),
    ("sendgrid", include_str!("data/sendgrid.toml")),
    ("sentry", include_str!("data/sentry.toml")),
    ("shippo", include_str!("data/shippo.toml")),
    ("shopify", include_str!("data/shopify.toml")),
    ("slack", include_str!("data/slack.toml")),
    ("sonarqube", include_str!("data/sonarqube.toml")),
    ("sourcegraph", include_str!("data/sourcegraph.toml")),
    ("square", include_str!("data/square.toml")),
    ("stripe", include_str!("data/stripe.toml")),
    ("supabase", include_str!("data/supabase.toml")),
    ("tailscale", include_str!("data/tailscale.toml")),
    ("terraform", include_str!("data/terraform.toml")),
    ("togetherai", include_str!("data/togetherai.toml")),
    ("vercel", include_str!("data/vercel.toml")),
    ("wandb", include_str!("data/wandb.toml")),
    ("xai", include_str!("data/xai.toml")),
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_data_file_is_listed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rules/data");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let listed: Vec<String> = super::FILES.iter().map(|(s, _)| s.to_string()).collect();
        assert_eq!(on_disk, listed);
    }
}
