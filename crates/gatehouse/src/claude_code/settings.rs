pub struct GatewayEnv<'a> { pub base_url: &'a str, pub gateway_key: &'a str }
